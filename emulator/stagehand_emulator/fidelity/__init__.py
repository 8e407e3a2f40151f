"""Where moto differs from AWS in ways stagehand depends on, this package makes it act like AWS.

Each module fixes one service; `install()` applies the patches to moto's backends, and
`routes()` returns the services the layer answers itself (moto has no such service).
"""

from . import holds, iam


def install():
    iam.install()
    holds.install()


def routes():
    return {}
