"""Domain errors. Every broken rule raises one of these; none is ever just logged."""


class DomainError(Exception):
    """A domain rule was broken."""


class InvalidValue(DomainError, ValueError):
    """A value is malformed: NaN, infinite, zero or negative where it must be positive, off the grid."""


class ConcurrentChange(DomainError):
    """What was read has been changed by someone else since: nothing was written, read it again and retry."""


class IllegalTransition(DomainError):
    """A state machine was asked for a move its transition table does not allow."""

    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(f"{entity} cannot move from {current} to {target}")
        self.entity = entity
        self.current = current
        self.target = target
