"""A last-in, first-out stack with an optional capacity."""


class StackError(Exception):
    """Raised when popping an empty stack or pushing onto a full one."""


class Stack:
    """A stack holding at most `capacity` items (no limit when capacity is None)."""

    def __init__(self, capacity=None):
        self._items = []
        self.capacity = capacity

    def push(self, item):
        """Put `item` on top; raises StackError when the stack is full."""
        if self.capacity is not None and len(self._items) >= self.capacity:
            raise StackError("stack is full")
        self._items.append(item)

    def pop(self):
        """Remove and return the top item; raises StackError when the stack is empty."""
        if not self._items:
            raise StackError("pop from an empty stack")
        return self._items.pop()

    def peek(self):
        """The top item without removing it, or None when the stack is empty."""
        if not self._items:
            return None
        return self._items[-1]

    def __len__(self):
        return len(self._items)

    def is_full(self):
        """Whether another push would fail."""
        return self.capacity is not None and len(self._items) == self.capacity
