"""Every string a provider can see exists in French, English and Spanish."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def source_messages(tmp_path_factory) -> set[str]:
    """Extract the msgids from the code and templates as they are now, not from a stale .pot."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_", "-k", "N_", "-k", "gettext", "-k", "ngettext:1,2", "-o", str(pot), "."],
                   cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}


@pytest.mark.parametrize("language", ["fr", "es"])
def test_every_visible_string_is_translated(source_messages, language):
    with (ROOT / "locales" / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=language)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and (all(m.string) if isinstance(m.string, tuple) else m.string) and not m.fuzzy
    }
    missing = sorted(source_messages - translated)
    assert not missing, f"{len(missing)} strings without a {language} translation, e.g. {missing[:10]}"


def test_french_is_the_default_language():
    from handlers.i18n import DEFAULT_LANGUAGE, Locality, gettext, pick_language, set_locality

    assert DEFAULT_LANGUAGE == "fr"
    assert pick_language(None) == "fr"
    assert pick_language("es-ES,es;q=0.9") == "es"
    assert pick_language("de-DE") == "fr"
    set_locality(Locality(language="fr"))
    assert gettext("Log in") == "Se connecter"
    set_locality(Locality(language="es"))
    assert gettext("Log in") == "Iniciar sesión"
