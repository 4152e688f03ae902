"""`manage.py demo` lives in the home app and calls every app's demo step, in the order the apps build on each other."""
import importlib.util
import io

from django.apps import apps
from django.core.management import call_command

from home.management.commands import demo


def test_every_app_with_a_demo_module_is_a_step_in_installed_order():
    with_demo = [config.name for config in apps.get_app_configs()
                 if config.name != "home" and importlib.util.find_spec(f"{config.name}.demo")]
    assert [step.__module__ for step in demo.STEPS] == [f"{name}.demo" for name in with_demo]


def test_only_runs_the_steps_whose_path_holds_the_text(monkeypatch):
    ran = []

    def fake(name):
        def step(*, write):
            ran.append(name)
            write(f"{name} done")
        step.__module__ = f"{name}.demo"
        return step

    monkeypatch.setattr(demo, "STEPS", [fake("datasets"), fake("generator"), fake("seeds")])
    out = io.StringIO()
    call_command("demo", "--only", "generator", stdout=out)
    assert ran == ["generator"] and "generator done" in out.getvalue() and "(generator.demo.step:" in out.getvalue()
    call_command("demo", stdout=io.StringIO())
    assert ran == ["generator", "datasets", "generator", "seeds"]
