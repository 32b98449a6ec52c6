"""Training and export (extra ``train``: torch, onnx). The core never imports this package."""
