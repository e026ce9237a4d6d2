"""The Hugging Face Hub: the client's rules, pushing a run, and pulling one."""
