"""The running lab: registry.lab serves the current build of every LAB STAND-IN app image under Docker Hub's
name (library/<name>), which is what lets a lab host pull `image: wordpress` through its registry mirror."""

from __future__ import annotations

import lab_up
import pytest

from dockprov.lab import apps
from dockprov.lab.dockercli import inspect

pytestmark = lab_up.marks("dockprov-registry", need_vars=False)


@pytest.mark.parametrize("app", apps.APP_IMAGES, ids=lambda a: a.name)
def test_registry_serves_the_current_build(app):
    from dockprov.lab.fleet import registry_port

    local = (inspect("image", app.image) or {}).get("Id")
    assert local, f"{app.image} is not built: run `dockprov lab up`"
    assert apps.registry_config_digest(registry_port(), app.repository) == local
