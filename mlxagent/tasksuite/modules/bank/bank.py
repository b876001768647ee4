"""A bank account that may be overdrawn, but only down to its overdraft limit."""


class InsufficientFunds(Exception):
    """Raised when a withdrawal would go past the overdraft limit."""


class Account:
    """A balance in cents with an overdraft limit in cents (0 means no overdraft)."""

    def __init__(self, owner, balance=0, overdraft=0):
        self.owner = owner
        self.balance = balance
        self.overdraft = overdraft
        self.history = []

    def deposit(self, amount):
        """Add `amount` (which must be positive) and return the new balance."""
        if amount <= 0:
            raise ValueError("deposit must be positive")
        self.balance += amount
        self.history.append(("deposit", amount))
        return self.balance

    def withdraw(self, amount):
        """Take out `amount`; the balance may drop to -overdraft but no lower."""
        if amount <= 0:
            raise ValueError("withdrawal must be positive")
        if self.balance - amount < -self.overdraft:
            raise InsufficientFunds(f"{self.owner} cannot withdraw {amount}")
        self.balance -= amount
        self.history.append(("withdraw", amount))
        return self.balance

    def available(self):
        """How much can still be withdrawn."""
        return self.balance + self.overdraft

    def transfer(self, other, amount):
        """Move `amount` from this account to `other`."""
        self.withdraw(amount)
        other.deposit(amount)
