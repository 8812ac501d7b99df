"""The app's table of contents, in the lecture's order. Titles come from each page's lesson file.

A page is listed here only once it is built: ``app_pages/<slug>.py`` plus ``lessons/<lang>/<slug>.*``.
The URL of a page is ``/<slug>``; sections with no page yet are not shown.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PageSpec:
    slug: str  # file name in app_pages/, URL path, lesson file name
    icon: str  # a Material icon, e.g. ":material/home:"


@dataclass(frozen=True)
class Section:
    key: str  # the section's label is [sections].<key> in lessons/<lang>/common.toml
    pages: list[PageSpec] = field(default_factory=list)


SECTIONS: list[Section] = [
    Section("start", [
        PageSpec("start", ":material/map:"),
    ]),
    Section("classification_to_segmentation", [
    ]),
    Section("upsampling", [
    ]),
    Section("architectures", [
    ]),
    Section("your_images", [
    ]),
    Section("segment_anything", [
    ]),
    Section("train_live", [
    ]),
]


def all_pages() -> list[PageSpec]:
    return [page for section in SECTIONS for page in section.pages]
