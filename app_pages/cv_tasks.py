"""Computer-vision tasks: one scene, five outputs, and what each output cannot say."""
import streamlit as st

from app_pages.ui import common, widgets
from core.data import scenes
from core.figures.segmentation import task_view

T = common.texts("cv_tasks")
common.header(T)


@st.cache_data(max_entries=32, show_spinner=False)
def scene_at(overlap: float) -> scenes.Scene:
    return scenes.make_scene(overlap=overlap)


names = [T.table("classes")[c] for c in scenes.SCENE_CLASSES]
left, right = st.columns([3, 2], vertical_alignment="bottom")
task = common.choice(left.radio, T("task"), scenes.TASKS, key="cvt_task", format_func=lambda t: T(f"task_{t}"),
                     horizontal=True)
overlap = right.slider(T("overlap"), 0.0, 0.8, value=0.35, step=0.05, key="cvt_overlap", bind="query-params",
                       help=T("overlap_help"))
all_five = st.toggle(T("all_five"), value=False, key="cvt_all", bind="query-params")

scene = scene_at(overlap)
counts = {}
instance_names = []
for obj in scene.objects:
    counts[obj.class_id] = counts.get(obj.class_id, 0) + 1
    instance_names.append(T("instance_name", name=names[obj.class_id], k=counts[obj.class_id]))
outputs = {t: scenes.task_output(scene, t) for t in scenes.TASKS}


def view(t: str, height: int = 420):
    title = T("input_title") if t == "input" else T(f"task_{t}")
    return task_view(scene.image, t, outputs.get(t, {}), names, scenes.SCENE_COLORS, title=title,
                     instance_names=instance_names, height=height)


if all_five:
    panels = ["input", *scenes.TASKS]
    for row in range(0, len(panels), 3):
        for col, t in zip(st.columns(3), panels[row:row + 3]):
            with col:
                common.show_figure(view(t, height=330), key=f"cvt_fig_{t}")
else:
    a, b = st.columns(2)
    with a:
        common.show_figure(view("input"), key="cvt_fig_input")
    with b:
        common.show_figure(view(task), key="cvt_fig_task")

# What the selected output says, with the numbers read from it.
dogs = [o for o in scene.objects if o.class_id == 3]
main = scene.objects[scene.main_object]
says = {
    "classification": T("says_classification", label=names[main.class_id]),
    "localisation": T("says_localisation", label=names[main.class_id], x0=main.box[0], y0=main.box[1],
                      x1=main.box[2], y1=main.box[3]),
    "semantic": T("says_semantic", regions=scenes.semantic_instance_count(scene.semantic, 3), dogs=len(dogs),
                  pixels=f"{scene.semantic.size:,}".replace(",", " "),
                  classes=len(set(scene.semantic.ravel().tolist()))),
    "detection": T("says_detection", n=len(scene.objects), shared=scenes.box_overlap(dogs[0].box, dogs[1].box)),
    "instance": T("says_instance", n=len(scene.objects), hidden=int((dogs[0].full_mask & ~dogs[0].mask).sum()),
                  visible=int(dogs[0].mask.sum())),
}
with st.container(border=True):
    st.markdown(f"**{T('says_title', task=T(f'task_{task}'))}** {says[task]}")
    st.markdown(T.md(f"task_{task}"))

st.subheader(T("table_title"))
marks = {"yes": f":green[**● {T('yes')}**]", "partly": f":orange[**◐ {T('partly')}**]",
         "no": f":red[○ {T('no')}]"}
header = "| | " + " | ".join(f"**{T(f'task_{t}')}**" if t == task else T(f"task_{t}") for t in scenes.TASKS) + " |"
lines = [header, "|---" * (len(scenes.TASKS) + 1) + "|"]
for q in scenes.QUESTIONS:
    cells = [marks[scenes.CAPABILITIES[t][q]] for t in scenes.TASKS]
    lines.append(f"| {T(f'question_{q}')} | " + " | ".join(cells) + " |")
st.markdown("\n".join(lines))
st.caption(T("table_caption"))

st.markdown(T.md("questions"))
st.markdown(T.md("next"))

widgets.quiz(T, scenes.task_questions, key="cvt_quiz")
