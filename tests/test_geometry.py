"""Device table and Hercules capacity_calc, against the worked values of
hercules-formats.md §3.2 (which match IBM's published tables)."""

import pytest

from spoolkit import geometry as g
from spoolkit.errors import InvalidArgumentError, NotFoundError


@pytest.mark.parametrize("name,kl,dl,b,n", [
    ("3390", 0, 4096, 4862, 12),
    ("3390", 0, 56664, 58786, 1),
    ("3390", 0, 27998, 29376, 2),
    ("3390", 0, 80, 748, 78),
    ("3390", 44, 96, 1156, 50),
    ("3390", 0, 6144, 6970, 8),
    ("3380", 0, 4096, 4608, 10),
    ("3380", 0, 47476, 47968, 1),
    ("3380", 0, 23476, 23968, 2),
    ("3380", 44, 96, 896, 53),
])
def test_worked_capacities(name, kl, dl, b, n):
    cap = g.lookup_ckd(name).capacity(kl, dl)
    assert cap.bytes_not_last == b
    assert cap.records_per_track == n
    assert cap.fits


MAXDL = {
    "3390": [56664, 27998, 18452, 13682, 10796, 8906, 7548, 6518, 5726, 5064, 4136, 3174,
             2212, 1250, 486],
    "3380": [47476, 23476, 15476, 11476, 9076, 7476, 6356, 5492, 4820, 4276, 3476, 2676,
             1876, 1076, 436],
}


@pytest.mark.parametrize("name", sorted(MAXDL))
def test_max_dl_per_n_records(name):
    dev = g.lookup_ckd(name)
    ns = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 30, 50]
    assert [dev.max_data_length(n) for n in ns] == MAXDL[name]
    # one byte more and the N-th record no longer fits
    for n, dl in zip(ns, MAXDL[name]):
        if dl < dev.r1:
            assert dev.records_per_track(dl + 1) < n


def test_capacity_is_exact_at_the_boundary():
    dev = g.lookup_ckd("3390-3")
    used = 0
    for _ in range(12):
        cap = dev.capacity(0, 4096, used)
        assert cap.fits
        used = cap.new_used
    assert used == 12 * 4862
    assert not dev.capacity(0, 4096, used).fits
    assert dev.capacity(0, 4096, 11 * 4862).balance == 58786 - 12 * 4862


@pytest.mark.parametrize("name,heads,trksize,r1,cyls", [
    ("2311", 10, 4096, 3625, 200), ("2314", 20, 7680, 7294, 200),
    ("3330", 19, 13312, 13030, 404), ("3340", 12, 8704, 8368, 348),
    ("3350", 30, 19456, 19069, 555), ("3375", 12, 35840, 35616, 959),
    ("3380", 15, 47616, 47476, 885), ("3390", 15, 56832, 56664, 1113),
    ("9345", 15, 46592, 46456, 1440),
])
def test_track_slot_sizes(name, heads, trksize, r1, cyls):
    dev = g.lookup_ckd(name)
    assert (dev.heads, dev.track_size, dev.r1, dev.cylinders) == (heads, trksize, r1, cyls)
    assert dev.capacity(0, r1).fits
    assert dev.capacity(0, r1).records_per_track == 1


@pytest.mark.parametrize("model,cyls", [("3390-1", 1113), ("3390-2", 2226), ("3390-3", 3339),
                                        ("3390-9", 10017), ("3390-27", 32760),
                                        ("3390-54", 65520), ("3380-K", 2655), ("3380-E", 1770)])
def test_models(model, cyls):
    assert g.lookup_ckd(model).cylinders == cyls


def test_lookup_by_type_and_size_like_dasd_lookup():
    assert g.lookup_ckd(devt=0x3390, cylinders=1114).name == "3390"
    assert g.lookup_ckd(devt=0x90, cylinders=3340).name == "3390-3"
    assert g.lookup_ckd(devt="3380", cylinders=2000).name == "3380-3"
    with pytest.raises(NotFoundError):
        g.lookup_ckd("3391")


def test_old_formulas_match_ibm_tables():
    # 3350: 4 x 4096 per track (IBM GA26-1638); 2314: 2 x 3520 (half track), 3330 13030 max
    assert g.lookup_ckd("3350").records_per_track(4096) == 4
    assert g.lookup_ckd("2314").records_per_track(3520) == 2
    assert g.lookup_ckd("3330").records_per_track(13030) == 1
    assert g.lookup_ckd("2311").records_per_track(3625) == 1


def test_fba_table():
    assert g.lookup_fba("3370").blocks == 558000
    assert g.lookup_fba("9336-20").blocks == 1672881
    assert g.lookup_fba(devt=0x3370, blocks=600000).name == "3370-2"


def test_capacity_with_used_past_the_track_is_no_fit():
    # used + b1 must not wrap (signed overflow in C): nothing fits past the track end
    dev = g.lookup_ckd("3390")
    assert dev.capacity(0, 100, 58786 - 782).fits
    assert not dev.capacity(0, 100, 58786 - 781).fits
    assert not dev.capacity(0, 100, 2**31 - 1).fits
    for bad in [(0, 100, 2**31), (0, 100, -1), (256, 0, 0), (0, 65536, 0)]:
        with pytest.raises(InvalidArgumentError):
            dev.capacity(*bad)


def test_a_device_row_made_by_hand_finds_its_table_row():
    import dataclasses
    row = g.lookup_ckd("3390")
    by_hand = dataclasses.replace(row, _ptr=None)        # as CKDDevice(...) makes it
    assert by_hand.capacity(0, 4096) == row.capacity(0, 4096)
    assert by_hand.max_data_length(12) == row.max_data_length(12) >= 4096
    with pytest.raises(NotFoundError, match="unknown CKD device type"):
        dataclasses.replace(row, name="9999-9", _ptr=None).capacity(0, 80)
