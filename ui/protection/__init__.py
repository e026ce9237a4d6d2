"""What keeps a public Space bounded and its answers clear: request and visitor limits, the output
files, the figure cache. The only place that touches Gradio's internals."""
