"""The Gradio pieces of app.py that have grown into tabs of their own. Like app.py they only lay
out components and call gan_core, which never imports gradio."""
