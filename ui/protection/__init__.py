"""What keeps a public Space bounded and its answers clear: request and visitor limits, the output
files, the figure cache, live runs that end: where Gradio's queue and its events are reached into
(ui/app.py hands it the queue; ui/calls.py reads the page's events to count each call's values)."""
