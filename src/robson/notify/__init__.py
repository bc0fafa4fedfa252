"""Notifiers behind the Notifier port: a log notifier now; Telegram and webhooks later."""
