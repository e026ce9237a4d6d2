"""The Space's page, over gan_core (which never imports gradio): settings read once, the context
built from them, one module per tab, and the protections of a public Space. app.py's main() runs it."""
