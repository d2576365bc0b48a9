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


def test_key_hash_is_the_same_in_every_process():
    # a filter in a shared file is read by other processes: str hash() differs per process, key_hash must not
    import subprocess
    import sys

    from validator.store.keyfilter import key_hash

    code = "from validator.store.keyfilter import key_hash; print(key_hash('user1@domain1.example'))"
    for seed in ("1", "2"):
        other = subprocess.run(
            [sys.executable, "-c", code], env={"PYTHONHASHSEED": seed}, capture_output=True, text=True, check=True
        )
        assert int(other.stdout) == key_hash("user1@domain1.example")


def test_layers_answer_maybe_if_any_layer_holds_the_key():
    from validator.store.keyfilter import BloomLayer, Layers, bits_for, key_hash

    nbits = bits_for(1000)
    buffer = bytearray(2 * nbits // 8)  # two layers in one buffer, as in a key file
    older, newer = BloomLayer(buffer, nbits, 0), BloomLayer(buffer, nbits, nbits // 8)
    older.add_hash(key_hash("old@example.com"))
    newer.add_hash(key_hash("new@example.com"))
    both = Layers([older, newer])
    assert both.might_contain("old@example.com") and both.might_contain("new@example.com")
    assert not Layers([older]).might_contain("new@example.com")  # a false "maybe" here is 1 in ~10^8
