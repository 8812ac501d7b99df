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
        PageSpec("get_ready", ":material/download_for_offline:"),
    ]),
    Section("classification_to_segmentation", [
        PageSpec("cv_tasks", ":material/category:"),
        PageSpec("classification_recap", ":material/label:"),
        PageSpec("pixelwise_classification", ":material/grid_view:"),
        PageSpec("full_resolution", ":material/memory:"),
        PageSpec("segmentation_metrics", ":material/rule:"),
    ]),
    Section("upsampling", [
        PageSpec("nearest_bed_of_nails", ":material/grid_on:"),
        PageSpec("bilinear", ":material/gradient:"),
        PageSpec("max_unpooling", ":material/call_split:"),
        PageSpec("transposed_convolution", ":material/open_in_full:"),
        PageSpec("compare_upsampling", ":material/compare:"),
    ]),
    Section("architectures", [
        PageSpec("architecture_explorer", ":material/account_tree:"),
        PageSpec("fcn", ":material/call_merge:"),
        PageSpec("segnet", ":material/swap_vert:"),
        PageSpec("unet", ":material/join_inner:"),
        PageSpec("hrnet", ":material/stacked_line_chart:"),
        PageSpec("fpn_mask_rcnn", ":material/filter_center_focus:"),
        PageSpec("beyond_fcn", ":material/auto_awesome:"),
    ]),
    Section("pose", [
        PageSpec("pose_heatmaps", ":material/blur_on:"),
        PageSpec("pose_train", ":material/directions_run:"),
        PageSpec("pose_hrnet_vs_hourglass", ":material/compare_arrows:"),
    ]),
    Section("your_images", [
        PageSpec("segment_photo", ":material/photo_camera:"),
        PageSpec("instances", ":material/category_search:"),
        PageSpec("pose_photo", ":material/accessibility_new:"),
    ]),
    Section("segment_anything", [
        PageSpec("sam", ":material/ads_click:"),
        PageSpec("how_sam_works", ":material/schema:"),
        PageSpec("sam2_video", ":material/movie:"),
        PageSpec("grounded_sam", ":material/text_fields:"),
    ]),
    Section("train_live", [
        PageSpec("train_live", ":material/model_training:"),
        PageSpec("scribbles", ":material/brush:"),
    ]),
]


def all_pages() -> list[PageSpec]:
    return [page for section in SECTIONS for page in section.pages]
