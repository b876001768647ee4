"""Stock levels for a small shop."""


class Inventory:
    """Item names mapped to (quantity, unit price in cents)."""

    def __init__(self):
        self._stock = {}

    def add(self, name, quantity, price):
        """Add `quantity` of `name` at `price` each; a later add also updates the price."""
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        have, _ = self._stock.get(name, (0, price))
        self._stock[name] = (have + quantity, price)

    def remove(self, name, quantity):
        """Take `quantity` of `name` out; KeyError if unknown, ValueError if not enough."""
        if name not in self._stock:
            raise KeyError(name)
        have, price = self._stock[name]
        if quantity > have:
            raise ValueError(f"only {have} {name} in stock")
        if quantity == have:
            del self._stock[name]
        else:
            self._stock[name] = (have - quantity, price)

    def count(self, name):
        """How many of `name` are in stock (0 if none)."""
        return self._stock.get(name, (0, 0))[0]

    def names(self):
        """The names of everything in stock, sorted."""
        return sorted(self._stock)

    def total_value(self):
        """The value of all stock, in cents."""
        return sum(q * p for q, p in self._stock.values())

    def low_stock(self, threshold):
        """The names with fewer than `threshold` in stock, sorted."""
        return sorted(n for n, (q, _) in self._stock.items() if q < threshold)
