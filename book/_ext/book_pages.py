"""A small Sphinx extension for this book's pages.

Jupyter Book 1 registers sphinx-thebe and sphinx-togglebutton so that their inline scripts
end up twice in every page; the second ``const THEBE_JS_URL`` then throws a console error.
Here every page's script list keeps each script once, in its first position.
"""

from __future__ import annotations


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})  # ignore priorities, and None vs "" names
        name = str(getattr(script, "filename", script) or "")
        key = (name, tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
