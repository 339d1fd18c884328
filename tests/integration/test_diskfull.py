# SPDX-License-Identifier: Apache-2.0
"""Disk full against a real quiverd whose data directory is a small tmpfs: writes fail
with a clear error, reads go on, a refused DDL leaves the catalog as it was, nothing is
corrupted, and writes resume (without a restart) once space is freed; a restart then finds
exactly the acknowledged rows.

Mounting a tmpfs needs root (CAP_SYS_ADMIN); elsewhere this test skips, saying so. The
same scenario always runs unit-level through the faulty I/O backend
(tests/unit/test_diskfull.c), which also covers ENOSPC at fsync time and I/O errors."""
import os
import subprocess

import pytest

DIM = 64


def rows(lo, hi):
    return [{"id": i, "vector": [float(i % 97)] * DIM} for i in range(lo, hi)]


def count(node):
    r = node.post("entities/query", {"collectionName": "full", "outputFields": ["count(*)"]})
    assert r.code == 0, r
    return r.data[0]["count(*)"]


def fill(path):
    """Write path until the filesystem is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for chunk in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; tests/unit/test_diskfull.c covers disk full "
                    "through the faulty backend")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (%s); tests/unit/test_diskfull.c covers disk "
                    "full through the faulty backend" % r.stderr.strip())
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_disk_full_then_space_freed(node_factory, small_disk):
    node = node_factory("full", data_dir=small_disk / "data")
    assert node.post("collections/create", {"collectionName": "full", "dimension": DIM,
                                            "params": {"shardsNum": 2}}).code == 0
    acked = 0
    for k in range(0, 2000, 500):
        assert node.post("entities/insert", {"collectionName": "full",
                                             "data": rows(k, k + 500)}).code == 0
        acked += 500
    assert node.post("collections/flush", {"collectionName": "full"}).code == 0
    assert node.post("entities/insert", {"collectionName": "full",
                                         "data": rows(2000, 2300)}).code == 0  # growing
    acked += 300

    filler = small_disk / "filler"
    fill(filler)
    for k in range(3):  # the disk is full: clear errors, every time
        r = node.post("entities/insert", {"collectionName": "full",
                                          "data": rows(10000 + k * 500, 10500 + k * 500)})
        assert r.code != 0 and "No space left on device" in r.message, r
    r = node.post("entities/upsert", {"collectionName": "full", "data": rows(0, 10)})
    assert r.code != 0, r
    r = node.post("collections/flush", {"collectionName": "full"})
    assert r.code != 0 and "No space left on device" in r.message, r
    r = node.post("collections/create", {"collectionName": "other", "dimension": 4})
    assert r.code != 0, r
    assert count(node) == acked  # reads go on
    r = node.post("entities/search", {"collectionName": "full", "data": [[1.0] * DIM],
                                      "limit": 3})
    assert r.code == 0 and len(r.data) == 3, r
    assert node.get("/livez").status == 200

    filler.unlink()  # space is back: writes resume without a restart
    r = node.post("entities/insert", {"collectionName": "full", "data": rows(3000, 3500)})
    assert r.code == 0, r
    acked += 500
    assert node.post("collections/flush", {"collectionName": "full"}).code == 0
    names = node.post("collections/list", {}).data
    assert names == ["full"], names  # the refused create left nothing behind
    node.restart()
    assert count(node) == acked
    r = node.post("entities/query", {"collectionName": "full", "filter": "id >= 10000",
                                     "outputFields": ["count(*)"]})
    assert r.data[0]["count(*)"] == 0  # refused rows never appear
    node.stop()
