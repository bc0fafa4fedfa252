"""The live monitor: watches the price stream and finds which open operations' stops and targets it crossed."""
