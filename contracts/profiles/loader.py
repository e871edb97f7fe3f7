"""Load the jurisdiction profiles 地区规则配置 from the packaged TOML files, resolve inheritance, cache.

Each file in ``data/`` is one version of one jurisdiction. A file with ``extends = "<parent>"``
is laid over every version of the parent that overlaps it: tables merge key by key, while
scalars, arrays and the tables named in the file's ``replace`` list are taken whole from the
child. A child version overlapping two parent versions therefore resolves into two profiles,
each valid where both are, so a national change reaches every region on its own date.

Every leaf value must carry provenance in the same file's ``[provenance]`` table, by its
dotted path or the path of an enclosing table; a value is either cited to a source declared
under ``[sources]`` or marked ``"profile default"``. Money and ratios are written as strings
or integers (never TOML floats) and read as Decimal.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from pydantic import BaseModel, ValidationError

from contracts.profiles.schema import PROFILE_DEFAULT, JurisdictionProfile

# Keys that name a file rather than state a rule: they need no provenance and are not inherited.
IDENTITY_KEYS = frozenset({"jurisdiction", "name_zh", "version", "extends", "replace", "sources", "provenance"})
# Dated keys: not inherited (the window is the file's own) but, being rule data, cited.
WINDOW_KEYS = ("effective_from", "effective_to")


class ProfileNotFound(LookupError):
    """No profile version of a jurisdiction is in force on the asked date."""


class ProfileInvalid(ValueError):
    """A profile file breaks the format, its schema, or the provenance rule."""


@dataclass(frozen=True)
class ProfileCatalog:
    """Every resolved profile version, by jurisdiction and effective window."""

    profiles: tuple[JurisdictionProfile, ...]

    def jurisdictions(self) -> tuple[str, ...]:
        return tuple(sorted({p.jurisdiction for p in self.profiles}))

    def versions(self, jurisdiction: str) -> tuple[JurisdictionProfile, ...]:
        return tuple(sorted((p for p in self.profiles if p.jurisdiction == jurisdiction), key=lambda p: p.effective_from))

    def get(self, jurisdiction: str, on: dt.date) -> JurisdictionProfile:
        versions = self.versions(jurisdiction)
        if not versions:
            raise ProfileNotFound(f"unknown jurisdiction {jurisdiction!r}; known: {', '.join(self.jurisdictions())}")
        for profile in versions:
            if profile.in_force(on):
                return profile
        windows = ", ".join(
            f"{p.version} [{p.effective_from.isoformat()}, {p.effective_to.isoformat() if p.effective_to else 'open'})"
            for p in versions
        )
        raise ProfileNotFound(f"no {jurisdiction!r} profile in force on {on.isoformat()}; versions: {windows}")


@functools.cache
def load_profiles() -> ProfileCatalog:
    """The packaged profiles, read and validated once per process."""
    return catalog_from_documents(read_packaged_documents())


def get_profile(jurisdiction: str, on: dt.date) -> JurisdictionProfile:
    """The profile of ``jurisdiction`` in force on ``on`` (effective_from <= on < effective_to)."""
    return load_profiles().get(jurisdiction, on)


def list_jurisdictions() -> tuple[str, ...]:
    return load_profiles().jurisdictions()


def read_packaged_documents() -> dict[str, dict[str, Any]]:
    """The raw TOML documents under ``contracts/profiles/data``, by file name."""
    documents = {}
    for entry in sorted(resources.files("contracts.profiles").joinpath("data").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            with entry.open("rb") as handle:
                documents[entry.name] = tomllib.load(handle)
    return documents


def catalog_from_documents(documents: Mapping[str, Mapping[str, Any]]) -> ProfileCatalog:
    """Resolve and validate raw profile documents (file name → parsed TOML) into a catalog."""
    by_jurisdiction: dict[str, list[_Segment]] = {}
    for name, document in documents.items():
        segment = _own_segment(name, document)
        by_jurisdiction.setdefault(segment.jurisdiction, []).append(segment)
    for jurisdiction, segments in by_jurisdiction.items():
        segments.sort(key=lambda s: s.start)
        for earlier, later in zip(segments, segments[1:]):
            if earlier.end is None or earlier.end > later.start:
                raise ProfileInvalid(f"{jurisdiction}: versions {earlier.files[-1]} and {later.files[-1]} overlap")

    resolved: dict[str, list[_Segment]] = {}

    def resolve(jurisdiction: str, chain: tuple[str, ...]) -> list[_Segment]:
        if jurisdiction in chain:
            raise ProfileInvalid(f"inheritance cycle: {' → '.join(chain + (jurisdiction,))}")
        if jurisdiction not in by_jurisdiction:
            raise ProfileInvalid(f"{chain[-1]} extends unknown jurisdiction {jurisdiction!r}")
        if jurisdiction not in resolved:
            result = []
            for own in by_jurisdiction[jurisdiction]:
                if own.extends is None:
                    result.append(own)
                else:
                    result.extend(_overlay_on_parents(own, resolve(own.extends, chain + (jurisdiction,))))
            resolved[jurisdiction] = result
        return resolved[jurisdiction]

    profiles = [_validate(segment) for jurisdiction in by_jurisdiction for segment in resolve(jurisdiction, ())]
    return ProfileCatalog(tuple(profiles))


# --- resolution ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Segment:
    """A profile's raw data over one window, before pydantic validation."""

    jurisdiction: str
    identity: dict[str, Any]
    body: dict[str, Any]
    sources: dict[str, Any]
    provenance: dict[str, str]  # leaf path (or a documented absent field) → source
    start: dt.date
    end: dt.date | None
    extends: str | None
    replace: tuple[str, ...]
    files: tuple[str, ...]
    lineage: tuple[str, ...]


def _own_segment(name: str, document: Mapping[str, Any]) -> _Segment:
    for key in ("jurisdiction", "name_zh", "version", "effective_from"):
        if key not in document:
            raise ProfileInvalid(f"{name}: missing {key}")
    floats = list(_float_paths(document, ""))
    if floats:
        raise ProfileInvalid(f"{name}: write money and ratios as strings, not TOML floats: {floats}")
    provenance = _resolve_provenance(name, document)
    replace = tuple(document.get("replace", ()))
    body = {k: v for k, v in document.items() if k not in IDENTITY_KEYS and k not in WINDOW_KEYS}
    for path in replace:
        if not isinstance(_at(body, path), dict):
            raise ProfileInvalid(f"{name}: replace names {path!r}, which is not a table in the file")
    return _Segment(
        jurisdiction=document["jurisdiction"],
        identity={k: document[k] for k in ("jurisdiction", "name_zh", "version", "extends") if k in document},
        body=body,
        sources=dict(document.get("sources", {})),
        provenance=provenance,
        start=document["effective_from"],
        end=document.get("effective_to"),
        extends=document.get("extends"),
        replace=replace,
        files=(name,),
        lineage=(f"{document['jurisdiction']} {document['version']}",),
    )


def _overlay_on_parents(child: _Segment, parents: list[_Segment]) -> list[_Segment]:
    result, covered_to = [], child.start
    for parent in sorted(parents, key=lambda p: p.start):
        start = max(child.start, parent.start)
        end = _earliest(child.end, parent.end)
        if end is not None and end <= start:
            continue
        if start > covered_to:
            break
        result.append(_overlay(parent, child, start, end))
        covered_to = end
        if end is None:
            break
    if covered_to is not None and (child.end is None or covered_to < child.end):
        raise ProfileInvalid(f"{child.files[-1]}: parent {child.extends!r} is not in force from {covered_to}")
    return result


def _overlay(parent: _Segment, child: _Segment, start: dt.date, end: dt.date | None) -> _Segment:
    replaced = set(child.replace)
    provenance = {
        path: source
        for path, source in parent.provenance.items()
        if path not in WINDOW_KEYS and not any(path == r or path.startswith(r + ".") for r in replaced)
    }
    provenance.update(child.provenance)
    # the window's bounds are cited by whichever file set them
    for key, bound, own in (("effective_from", start, child.start), ("effective_to", end, child.end)):
        if bound != own and key in parent.provenance:
            provenance[key] = parent.provenance[key]
    return _Segment(
        jurisdiction=child.jurisdiction,
        identity=child.identity,
        body=_deep_merge(parent.body, child.body, replaced, ""),
        sources={**parent.sources, **child.sources},
        provenance=provenance,
        start=start,
        end=end,
        extends=child.extends,
        replace=child.replace,
        files=parent.files + child.files,
        lineage=parent.lineage + child.lineage,
    )


def _deep_merge(parent: Mapping[str, Any], child: Mapping[str, Any], replaced: set[str], prefix: str) -> dict[str, Any]:
    merged = dict(parent)
    for key, value in child.items():
        path = prefix + key
        if isinstance(value, dict) and isinstance(parent.get(key), dict) and path not in replaced:
            merged[key] = _deep_merge(parent[key], value, replaced, path + ".")
        else:
            merged[key] = value
    return merged


def _validate(segment: _Segment) -> JurisdictionProfile:
    where = " + ".join(segment.files)
    _check_citations(where, segment)
    try:
        profile = JurisdictionProfile.model_validate(
            {
                **segment.identity,
                **segment.body,
                "effective_from": segment.start,
                "effective_to": segment.end,
                "lineage": segment.lineage,
                "sources": segment.sources,
                "provenance": segment.provenance,
            }
        )
    except ValidationError as error:
        raise ProfileInvalid(f"{where}: {error}") from error
    uncited = [path for path in model_leaf_paths(profile) if path not in profile.provenance]
    if uncited:
        raise ProfileInvalid(f"{where}: values without provenance: {uncited}")
    return profile


# --- provenance ----------------------------------------------------------------------------


def model_leaf_paths(profile: JurisdictionProfile) -> list[str]:
    """Dotted paths of every set (non-None) rule value of a resolved profile."""
    data = profile.model_dump(exclude=set(IDENTITY_KEYS) | {"lineage"})
    return [path for path, value in _leaves(data) if value is not None]


def _resolve_provenance(name: str, document: Mapping[str, Any]) -> dict[str, str]:
    """Each leaf's source, by the longest provenance path equal to or enclosing it."""
    declared = dict(_leaves(document.get("provenance", {})))
    if not all(isinstance(source, str) and source.strip() for source in declared.values()):
        raise ProfileInvalid(f"{name}: provenance entries must be non-empty strings")
    leaves = [path for path, _ in _leaves({k: v for k, v in document.items() if k not in IDENTITY_KEYS})]
    resolved, missing = {}, []
    for leaf in leaves:
        covering = [p for p in declared if leaf == p or leaf.startswith(p + ".")]
        if covering:
            resolved[leaf] = declared[max(covering, key=len)]
        else:
            missing.append(leaf)
    if missing:
        raise ProfileInvalid(f"{name}: values without provenance: {missing}")
    # entries that cover no value document an absent one (e.g. "no national minimum")
    for path, source in declared.items():
        if not any(leaf == path or leaf.startswith(path + ".") for leaf in leaves):
            if not _schema_has_path(JurisdictionProfile, path.split(".")):
                raise ProfileInvalid(f"{name}: provenance names unknown field {path!r}")
            resolved[path] = source
    return resolved


def _check_citations(where: str, segment: _Segment) -> None:
    for path, text in segment.provenance.items():
        for part in text.split(";"):
            part = part.strip()
            if part.startswith(PROFILE_DEFAULT):
                continue
            if not any(part == key or part.startswith(key + " ") for key in segment.sources):
                raise ProfileInvalid(f"{where}: provenance of {path!r} cites no declared source: {part!r}")


def _schema_has_path(annotation: Any, parts: list[str]) -> bool:
    if not parts:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_schema_has_path(arg, parts) for arg in typing.get_args(annotation) if arg is not type(None))
    if origin is typing.Annotated:
        return _schema_has_path(typing.get_args(annotation)[0], parts)
    if origin is dict:
        return _schema_has_path(typing.get_args(annotation)[1], parts[1:])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(parts[0])
        return field is not None and _schema_has_path(field.annotation, parts[1:])
    return False


def _leaves(data: Mapping[Any, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every non-table value; arrays count as one value."""
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _leaves(value, path + ".")
        else:
            yield path, value


def _float_paths(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, float):
        yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _float_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _float_paths(item, f"{path}[{index}]")


def _at(data: Mapping[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return None
        data = data[part]
    return data


def _earliest(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    if a is None or b is None:
        return a or b
    return min(a, b)
