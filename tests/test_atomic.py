"""Atomic writing: the target appears whole or not at all, with the usual permissions."""

from __future__ import annotations

import os

import pytest

from ecgseg.atomic import atomic_file, default_file_mode, write_atomic


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="half way"):
        with atomic_file(target) as handle:
            handle.write(b"new, but not finished")
            raise RuntimeError("half way")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_a_finished_write_replaces_the_target_with_the_usual_permissions(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == default_file_mode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_default_file_mode_follows_the_umask():
    previous = os.umask(0o077)
    try:
        assert default_file_mode() == 0o600
    finally:
        os.umask(previous)
    assert default_file_mode() == 0o666 & ~previous
