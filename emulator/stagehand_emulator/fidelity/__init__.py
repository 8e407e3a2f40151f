"""Where moto differs from AWS in ways stagehand depends on, this package makes it act like AWS.

One module per service. A module may define:
  install()  patch moto's backends (called once, before serving);
  reset()    forget the module's own state (on POST /moto-api/reset, beside moto's);
  ROUTES     {signing name: handler} for services the layer answers itself (moto has none);
             a handler is called as handler(environ, start_response, body, region, action).
  CONTROL_ROUTES  {path under /_stagehand/: handler} for the module's own control endpoints;
             handler(method, body, query) -> (status, JSON value), status an int (200, 404)
             or an HTTP status line; raising ValueError for a 400.
Modules are discovered by name, so adding a service is adding a file.
"""

import importlib
import pkgutil

_modules = [
    importlib.import_module(f"{__name__}.{m.name}")
    for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
]
from . import sim  # noqa: E402  (loaded above; named for install)


_installed = False


def install(start=True):
    """Patch moto (once: a second patch would wrap every patched method twice); with `start`,
    also start the simulation's thread (a zygote starts it in each forked emulator instead:
    threads do not survive a fork)."""
    global _installed
    if not _installed:
        _installed = True
        for module in _modules:
            if hasattr(module, "install"):
                module.install()
    if start:
        sim.start()


def routes():
    table = {}
    for module in _modules:
        table.update(getattr(module, "ROUTES", {}))
    return table


def control_routes():
    table = {}
    for module in _modules:
        table.update(getattr(module, "CONTROL_ROUTES", {}))
    return table


def reset():
    for module in _modules:
        if hasattr(module, "reset"):
            module.reset()
