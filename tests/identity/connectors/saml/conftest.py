"""The hub's service provider, and the universities' identity providers it trusts through a
federation. Keys are made once per session; each test gets a service provider on its own
database, and metadata files of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

import policies
from identity.patrons.connectors.saml.provider import ServiceProvider
from identity.settings import Settings
from identity.store.database import make_engine
from tests.conftest import SECRET
from tests.identity.connectors.saml.idp import Federation, IdentityProvider, KeyPair, make_keys

ISSUER = "https://hub.example.org"
IDP = "https://idp.uni.test/idp/shibboleth"
OTHER_IDP = "https://idp.college.test/idp/shibboleth"
CATEGORIES = {"staff@uni.test": "staff", "student@uni.test": "undergraduate"}


@dataclass(frozen=True)
class Keys:
    sp: KeyPair
    idp: KeyPair
    other_idp: KeyPair
    federation: KeyPair
    rogue: KeyPair  # signs what no one trusts


@pytest.fixture(scope="session")
def saml_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    directory = tmp_path_factory.mktemp("saml-keys")
    return Keys(
        *(make_keys(directory, name) for name in ("sp", "idp", "other-idp", "federation", "rogue"))
    )


def sp_settings(database_url: str, keys: Keys, **more: str) -> Settings:
    return Settings(
        database_url=database_url,
        issuer=ISSUER,
        secret_key=SECRET,
        saml_key_file=keys.sp.key_file,
        saml_cert_file=keys.sp.cert_file,
        **more,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def sp_metadata(saml_keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The hub's metadata, as a federation would give it to the identity providers (the
    service provider needs no database to make it when its keys come from files)."""
    settings = sp_settings(f"sqlite:///{tmp_path_factory.mktemp('sp') / 'hub.db'}", saml_keys)
    engine = make_engine(settings)
    try:
        return ServiceProvider(settings=settings, engine=engine).metadata().decode()
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def idp(saml_keys: Keys, sp_metadata: str) -> IdentityProvider:
    return IdentityProvider(IDP, saml_keys.idp, ["uni.test"], sp_metadata)


@pytest.fixture(scope="session")
def other_idp(saml_keys: Keys, sp_metadata: str) -> IdentityProvider:
    return IdentityProvider(OTHER_IDP, saml_keys.other_idp, ["college.test"], sp_metadata)


@pytest.fixture(scope="session")
def federation(saml_keys: Keys) -> Federation:
    return Federation(saml_keys.federation)


@pytest.fixture
def provider(engine: Engine, database_url: str, saml_keys: Keys) -> ServiceProvider:
    """The hub's service provider, on this test's database."""
    return ServiceProvider(settings=sp_settings(database_url, saml_keys), engine=engine)


Library = Callable[..., policies.Library]


@pytest.fixture
def metadata_file(
    tmp_path: Path, federation: Federation, idp: IdentityProvider, other_idp: IdentityProvider
) -> Path:
    """The federation's signed aggregate of both universities' IdPs."""
    path = tmp_path / "federation.xml"
    path.write_text(federation.publish([idp.descriptor(), other_idp.descriptor()]))
    return path


@pytest.fixture
def library(metadata_file: Path, saml_keys: Keys) -> Library:
    """The university's library entry (``saml``, its IdP in the federation's metadata); the
    keyword arguments change its connector."""

    def make(**connector: str | None) -> policies.Library:
        settings = {
            "kind": "saml",
            "idp": IDP,
            "metadata_file": str(metadata_file),
            "metadata_cert": saml_keys.federation.cert_file,
            **connector,
        }
        return policies.Library.model_validate(
            {
                "id": "uni",
                "name": "University",
                "categories": CATEGORIES,
                "connector": {k: v for k, v in settings.items() if v is not None},
            }
        )

    return make
