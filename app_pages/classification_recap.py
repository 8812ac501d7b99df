"""Classification recap: one-hot labels and cross-entropy on an editable example; flatten + FC versus GAP."""
import streamlit as st
import torch

from app_pages.ui import common, widgets
from core import classification as cls
from core.figures.segmentation import NET_COLORS, growth_curves, matrix_heatmap

T = common.texts("classification_recap")
common.header(T)

CLASSES = ("cat", "dog", "bird", "car")
names = [T.table("classes")[c] for c in CLASSES]
samples = [T("sample", k=k + 1) for k in range(3)]

# --- one-hot labels and cross-entropy ---------------------------------------------------------------
st.subheader(T("ce_title"))
st.markdown(T.md("one_hot"))
label_cols = st.columns(3)
labels = [common.choice(label_cols[k].selectbox, T("true_label", sample=samples[k]), range(len(CLASSES)),
                        key=f"cr_y{k}", default=default, format_func=lambda c: names[c])
          for k, default in enumerate((0, 1, 2))]
logits = torch.tensor(widgets.number_grid(
    "cr_logits", [[2.0, 1.0, 0.1, -1.0], [0.5, 2.5, 0.3, 0.0], [1.2, 0.2, 0.4, 2.0]],
    T("logits_label"), shape=(3, len(CLASSES)), names=(samples, names)), dtype=torch.float64)  # (N=3, C=4)

onehot = cls.one_hot(labels, len(CLASSES)).double()  # (3, 4)
probs = cls.softmax(logits)  # (3, 4)
losses = cls.cross_entropy(logits, onehot)  # (3,)
a, b = st.columns(2)
with a:
    common.show_figure(matrix_heatmap(onehot.numpy(), samples, names, title=T("onehot_fig"), digits=0,
                                      zmax=1.0, width_px=common.column_px(0.5)), key="cr_fig_onehot")
with b:
    common.show_figure(matrix_heatmap(probs.numpy(), samples, names, title=T("probs_fig"), digits=3, zmax=1.0,
                                      width_px=common.column_px(0.5)),
                       key="cr_fig_probs")
for k in range(3):
    p = float(probs[k, labels[k]])
    st.markdown(T("loss_line", sample=samples[k], label=names[labels[k]], p=f"{p:.4f}", loss=f"{float(losses[k]):.4f}"))
st.metric(T("mean_loss"), common.localized(f"{float(losses.mean()):.4f}"))
common.torch_check(losses, cls.torch_cross_entropy(logits, onehot), what=T("torch_ce"))
st.markdown(T.md("cross_entropy"))

# --- the head: flatten + FC versus global average pooling ------------------------------------------
st.subheader(T("head_title"))
st.markdown(T.md("heads"))
h1, h2, h3 = st.columns(3)
channels = h1.select_slider(T("channels"), [64, 128, 256, 512, 1024, 2048], value=512, key="cr_channels",
                            bind="query-params", help=T("channels_help"))
num_classes = h2.select_slider(T("num_classes"), [2, 10, 100, 1000], value=1000, key="cr_classes",
                               bind="query-params")
side = h3.slider(T("side"), 32, 1024, value=224, step=32, key="cr_side", bind="query-params", help=T("side_help"))
feat = cls.feature_size(side, 32)
flat = cls.head_parameters("flatten", channels, side, num_classes)
gap = cls.head_parameters("gap", channels, side, num_classes)
m1, m2, m3 = st.columns(3)
m1.metric(T("feature_map"), f"{channels}×{feat}×{feat}")
m2.metric(T("params_flatten"), f"{flat:,}".replace(",", " "))
m3.metric(T("params_gap"), f"{gap:,}".replace(",", " "),
          delta=T("times_fewer", x=f"{flat / gap:,.0f}".replace(",", " ")), delta_color="green", delta_arrow="down")
st.latex(rf"\text{{flatten + FC}}: {channels}\cdot{feat}\cdot{feat}\cdot{num_classes} + {num_classes} = {flat:,}"
         .replace(",", r"\,"))
st.latex(rf"\text{{GAP + FC}}: {channels}\cdot{num_classes} + {num_classes} = {gap:,}".replace(",", r"\,"))
sizes = list(range(32, 1025, 32))
common.show_figure(growth_curves(
    sizes, {T("head_flatten"): [cls.head_parameters("flatten", channels, s, num_classes) for s in sizes],
            T("head_gap"): [cls.head_parameters("gap", channels, s, num_classes) for s in sizes]},
    T("params_fig"), T("side_axis"), T("params_axis"), mark_x=side,
    colors={"a": NET_COLORS["flatten"], "b": NET_COLORS["gap"]}, width_px=common.column_px(1.0)), key="cr_fig_params")

# --- a real network, fed another size ---------------------------------------------------------------
st.subheader(T("try_title"))
st.markdown(T.md("try"))


@st.cache_resource(show_spinner=False)
def tiny(head: str) -> cls.TinyClassifier:
    torch.manual_seed(0)
    return cls.TinyClassifier(head, num_classes=10, built_for=224).eval()


t1, t2 = st.columns(2)
test_h = t1.slider(T("test_h"), 32, 512, value=320, step=16, key="cr_test_h", bind="query-params")
test_w = t2.slider(T("test_w"), 32, 512, value=256, step=16, key="cr_test_w", bind="query-params")
net = tiny("flatten")
fh, fw = cls.feature_size(test_h, net.stride), cls.feature_size(test_w, net.stride)
st.markdown(T("try_features", h=test_h, w=test_w, c=net.feature_channels, fh=fh, fw=fw,
              n=net.feature_channels * fh * fw, built=net.feature_channels * 7 * 7))
r1, r2 = st.columns(2)
for col, head in ((r1, "flatten"), (r2, "gap")):
    with col.container(border=True):
        st.markdown(f"**{T(f'head_{head}')}**")
        shape, error = cls.try_forward(tiny(head), test_h, test_w)
        if error is None:
            st.success(T("try_ok", shape=" × ".join(map(str, shape))))
        else:
            st.error(T("try_fail"))
            st.code(error, language=None, wrap_lines=True)
st.markdown(T.md("summary"))

widgets.quiz(T, cls.recap_questions, key="cr_quiz")
