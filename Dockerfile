# Segmentation Studio as a container: the app that `make run` starts, with the model caches on a volume.
#   CPU:  docker build -t segmentation-studio:cpu .
#   CUDA: docker build -t segmentation-studio:cuda --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu126 .
#         docker run --gpus all -p 8501:8501 -v studio-models:/cache segmentation-studio:cuda
# The caches (TORCH_HOME, HF_HOME) live on /cache: fill it once with
#   docker run --rm -v studio-models:/cache segmentation-studio:cpu python -m core.zoo.fetch --set cpu
FROM python:3.11-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    TORCH_HOME=/cache/torch \
    HF_HOME=/cache/huggingface \
    OMP_WAIT_POLICY=PASSIVE \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false

WORKDIR /app
COPY requirements.txt .
# torch and torchvision first, from the index of the chosen build (CPU by default), then the rest
RUN pip install --index-url "$TORCH_INDEX" torch torchvision \
 && pip install -r requirements.txt
COPY . .

VOLUME ["/cache"]
EXPOSE 8501
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true"]
