"""KeyFilter: never a false "no"; few false "maybe"s at capacity."""

from validator.store.keyfilter import KeyFilter


def test_every_added_key_might_be_contained():
    keys = KeyFilter(10_000)
    added = [f"user{i}@example{i % 97}.com" for i in range(10_000)]
    keys.update(added)
    assert all(keys.might_contain(k) for k in added)  # a false "no" would let a suppressed address through


def test_false_positive_rate_at_capacity_is_low():
    keys = KeyFilter(50_000)
    keys.update(f"in{i}@example.com" for i in range(keys.capacity))
    false = sum(keys.might_contain(f"out{i}@example.com") for i in range(20_000))
    assert false / 20_000 < 0.03
    assert not keys.full


def test_full_past_capacity():
    keys = KeyFilter(1)
    keys.update(str(i) for i in range(keys.capacity + 1))
    assert keys.full
