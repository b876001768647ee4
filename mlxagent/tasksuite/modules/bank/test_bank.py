import pytest

from bank import Account, InsufficientFunds


def test_deposit_adds_to_the_balance():
    acct = Account("ann", 100)
    assert acct.deposit(50) == 150
    assert acct.balance == 150


def test_deposit_must_be_positive():
    acct = Account("ann")
    for bad in (0, -5):
        with pytest.raises(ValueError):
            acct.deposit(bad)
    assert acct.balance == 0


def test_withdraw_down_to_exactly_the_overdraft_limit():
    acct = Account("bob", 100, overdraft=50)
    assert acct.withdraw(150) == -50
    with pytest.raises(InsufficientFunds):
        acct.withdraw(1)
    assert acct.balance == -50


def test_withdraw_without_overdraft_stops_at_zero():
    acct = Account("cy", 30)
    assert acct.withdraw(30) == 0
    with pytest.raises(InsufficientFunds):
        acct.withdraw(1)
    with pytest.raises(ValueError):
        acct.withdraw(0)


def test_available_includes_the_overdraft():
    assert Account("di", 20, overdraft=10).available() == 30
    assert Account("di").available() == 0


def test_transfer_moves_money_or_changes_nothing():
    a, b = Account("a", 100), Account("b", 5)
    a.transfer(b, 60)
    assert (a.balance, b.balance) == (40, 65)
    with pytest.raises(InsufficientFunds):
        a.transfer(b, 41)
    assert (a.balance, b.balance) == (40, 65)


def test_history_records_each_operation_in_order():
    acct = Account("ed", 10)
    acct.deposit(5)
    acct.withdraw(3)
    assert acct.history == [("deposit", 5), ("withdraw", 3)]
