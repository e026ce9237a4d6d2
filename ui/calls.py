"""How the app's functions meet their callers: ValueErrors become messages, and the number of values
a call must carry is read from the function itself."""

from __future__ import annotations

import functools
import inspect

import gradio as gr

from ui.protection.outputs import OutputsRemoved


def shown_to_user(function):
    """Bad input becomes a gr.Error with our message, in the UI and through the API alike. Works for
    plain functions and for generators (streaming endpoints) alike."""
    parameters = inspect.signature(function).parameters
    names = list(parameters)
    required = sum(parameter.default is inspect.Parameter.empty for parameter in parameters.values())

    def check_count(args) -> None:
        if not required <= len(args) <= len(names):  # a hand-made API call with values missing
            takes = f"{required} to {len(names)}" if required < len(names) else f"{len(names)}"
            raise gr.Error(f"{function.__name__} takes {takes} values ({', '.join(names)}), got {len(args)}")

    if inspect.isgeneratorfunction(function):

        @functools.wraps(function)
        def streaming(*args):
            check_count(args)
            try:
                yield from function(*args)
            except (ValueError, OutputsRemoved) as error:
                raise shown_error(error) from None

        return streaming

    @functools.wraps(function)
    def wrapper(*args):
        check_count(args)
        try:
            return function(*args)
        except (ValueError, OutputsRemoved) as error:
            raise shown_error(error) from None

    return wrapper


def shown_error(error: Exception) -> gr.Error:
    """The message the visitor sees. No traceback in the log: a bad value is the caller's mistake,
    not the app's, and printing 30 lines for each would let any visitor flood the log."""
    if isinstance(error, OutputsRemoved):
        return gr.Error("The app is stopping; try again in a moment.", print_exception=False)
    return gr.Error(str(error), print_exception=False)


def call_signature(function) -> tuple[int, tuple]:
    """(values a call must carry, defaults of the trailing ones it may leave out), from the function."""
    parameters = inspect.signature(function).parameters.values()
    defaults = tuple(p.default for p in parameters if p.default is not inspect.Parameter.empty)
    return len(parameters) - len(defaults), defaults


def call_signatures(demo) -> dict[str, tuple[int, tuple]]:
    """call_signature() of every public endpoint of a page, by its API name."""
    return {
        function.api_name: call_signature(function.fn)
        for function in demo.fns.values()
        if function.api_visibility == "public"
    }
