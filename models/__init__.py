"""Shipped ONNX saliency models (installed as ``jpegsal._models``); see manifest.json."""
