"""``screenshots.py`` still photographs every page (into a temporary directory)."""

import struct

import pytest

import screenshots

pytestmark = pytest.mark.browser


def png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_screenshots_of_the_four_pages(browser, service, tmp_path):
    shots = screenshots.take(browser, service, tmp_path)

    assert sorted(shots) == sorted(screenshots.PAGES)
    for path in shots.values():
        assert png_size(path) == (1000, 700)
