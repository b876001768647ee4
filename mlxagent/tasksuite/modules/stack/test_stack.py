import pytest

from stack import Stack, StackError


def test_pop_returns_items_last_in_first_out():
    s = Stack()
    for item in (1, 2, 3):
        s.push(item)
    assert [s.pop(), s.pop(), s.pop()] == [3, 2, 1]
    assert len(s) == 0


def test_pop_from_an_empty_stack_raises_stack_error():
    s = Stack()
    with pytest.raises(StackError):
        s.pop()
    s.push("x")
    s.pop()
    with pytest.raises(StackError):
        s.pop()


def test_peek_shows_the_top_without_removing_it():
    s = Stack()
    assert s.peek() is None
    s.push("a")
    s.push("b")
    assert s.peek() == "b"
    assert len(s) == 2


def test_push_onto_a_full_stack_raises_stack_error():
    s = Stack(capacity=2)
    s.push(1)
    assert not s.is_full()
    s.push(2)
    assert s.is_full()
    with pytest.raises(StackError):
        s.push(3)
    assert len(s) == 2


def test_an_unbounded_stack_is_never_full():
    s = Stack()
    for i in range(50):
        s.push(i)
    assert not s.is_full()
    assert len(s) == 50
