"""FHIR R4 Questionnaire import/export and QuestionnaireResponse reading.

Import reads what real forms carry (issue 14):
- answer scores from the `ordinalValue` or `itemWeight` extension on an answerOption (or on its
  valueCoding), on the concepts of a contained ValueSet (`answerValueSet: "#id"`), or the older
  `iso21090-CO-value`;
- LOINC forms' linkIds like `/44250-9`, nested groups (flattened, the group's text kept), `display`
  items, `enableWhen`, `required`, `repeats` (a multiple choice), help items (itemControl "help");
- a calculated total item (LOINC forms carry one, e.g. 44261-6 for PHQ-9) becomes the instrument's
  total code: the engine computes it, the patient is never asked it.
Everything else that changes meaning (other item types, an external answerValueSet, expressions) is
refused with a message naming the item: never silently dropped. Size and nesting are bounded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from assessments import instruments
from mahalo import safejson

MAX_BYTES = 512 * 1024
MAX_ITEMS = 300
MAX_OPTIONS = 100
MAX_DEPTH = 4
MAX_TEXT = 2000
LINK_ID = re.compile(r"^[A-Za-z0-9/_.:\-\[\]]{1,100}$")

SCORE_URLS = (
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
    "http://hl7.org/fhir/StructureDefinition/valueset-ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value",
)
ITEM_CONTROL = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
CALCULATED = ("http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression",
              "http://hl7.org/fhir/StructureDefinition/cqf-expression")
# Extensions that change what is asked or how it is answered: we can't honour them, so we refuse.
REFUSED_EXTENSIONS = {
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression": "enableWhenExpression",
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-answerExpression": "answerExpression",
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-initialExpression": "initialExpression",
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-candidateExpression": "candidateExpression",
}
MAHALO_SCORING = "https://mahalo.health/fhir/StructureDefinition/scoring"
LOINC = "http://loinc.org"
TYPES = {"choice": "choice", "integer": "integer", "decimal": "decimal", "string": "text", "text": "text",
         "date": "date", "boolean": "boolean", "display": "display"}
ENABLE_OPERATORS = ("exists", "=", "!=", ">", "<", ">=", "<=")


class ImportRefused(ValueError):
    """The form can't be imported faithfully; `errors` name the items."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class Parsed:
    code: str
    name: str
    description: str = ""
    url: str = ""
    version_label: str = ""
    preamble: str = ""
    scoring: dict = field(default_factory=dict)
    questions: list[dict] = field(default_factory=list)


def loads(raw: bytes | str) -> dict:
    """JSON text -> dict, bounded in size."""
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_BYTES:
        raise ImportRefused([f"The file is {size // 1024} KB; the limit is {MAX_BYTES // 1024} KB."])
    try:
        data = safejson.loads(raw, limit_bytes=MAX_BYTES)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportRefused([f"Not JSON: {exc}"]) from None
    if not isinstance(data, dict):
        raise ImportRefused(["Expected a JSON object (a FHIR Questionnaire)."])
    return data


def _exts(node: dict) -> list[dict]:
    value = node.get("extension") if isinstance(node, dict) else None
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


def _score_of(*nodes) -> float | None:
    for node in nodes:
        for ext in _exts(node):
            if ext.get("url") in SCORE_URLS:
                for key in ("valueDecimal", "valueInteger"):
                    value = ext.get(key)
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        return float(value)
    return None


def _first_code(node: dict) -> tuple[str, str]:
    codes = node.get("code")
    if isinstance(codes, list) and codes and isinstance(codes[0], dict):
        return str(codes[0].get("code") or "")[:64], str(codes[0].get("system") or "")[:200]
    return "", ""


def _text(value, limit: int = MAX_TEXT) -> str:
    return str(value or "").strip()[:limit]


def _options_from_valueset(vs: dict) -> list[dict]:
    out = []
    contains = (vs.get("expansion") or {}).get("contains") or []
    for c in contains if isinstance(contains, list) else []:
        if isinstance(c, dict):
            out.append({"code": _text(c.get("code"), 100), "display": _text(c.get("display"), 300),
                        "system": _text(c.get("system"), 200), "score": _score_of(c)})
    for inc in ((vs.get("compose") or {}).get("include") or []):
        if not isinstance(inc, dict):
            continue
        for c in inc.get("concept") or []:
            if isinstance(c, dict):
                out.append({"code": _text(c.get("code"), 100), "display": _text(c.get("display"), 300),
                            "system": _text(inc.get("system"), 200), "score": _score_of(c)})
    return out


def _option(opt: dict) -> dict | None:
    if "valueCoding" in opt and isinstance(opt["valueCoding"], dict):
        coding = opt["valueCoding"]
        return {"code": _text(coding.get("code"), 100), "display": _text(coding.get("display") or coding.get("code"),
                                                                          300),
                "system": _text(coding.get("system"), 200), "score": _score_of(opt, coding)}
    for key in ("valueString", "valueInteger", "valueDate"):
        if key in opt and not isinstance(opt[key], bool | dict | list):
            value = _text(opt[key], 300)
            return {"code": value, "display": value, "system": "", "score": _score_of(opt)}
    return None


def _enable_when(item: dict, where: str, errors: list[str]) -> list[dict]:
    out = []
    for cond in item.get("enableWhen") or []:
        if not isinstance(cond, dict):
            continue
        op = cond.get("operator")
        answer_keys = [k for k in cond if k.startswith("answer")]
        if op not in ENABLE_OPERATORS or len(answer_keys) != 1:
            errors.append(f"{where}: enableWhen with operator {op!r} isn't supported.")
            continue
        value = cond[answer_keys[0]]
        if isinstance(value, dict):
            value = value.get("code")
        out.append({"question": _text(cond.get("question"), 100), "operator": op, "answer": value})
    return out


def parse(data: dict) -> Parsed:
    """A FHIR R4 Questionnaire -> what services.questionnaire_create stores. Raises ImportRefused."""
    errors: list[str] = []
    if data.get("resourceType") != "Questionnaire":
        raise ImportRefused(["resourceType must be Questionnaire."])
    contained = {f"#{c.get('id')}": c for c in data.get("contained") or []
                 if isinstance(c, dict) and c.get("resourceType") == "ValueSet" and c.get("id")}
    code, _system = _first_code(data)
    parsed = Parsed(code=code or _text(data.get("name") or data.get("id"), 64),
                    name=_text(data.get("title") or data.get("name"), 200),
                    description=_text(data.get("description")), url=_text(data.get("url"), 300),
                    version_label=_text(data.get("version"), 40))
    if not parsed.code:
        errors.append("The questionnaire needs a code, a name or an id to identify it.")
    if not parsed.name:
        errors.append("The questionnaire needs a title or a name.")
    calculated: list[str] = []
    seen: set[str] = set()

    def walk(items, depth: int, group: str):
        if not isinstance(items, list):
            errors.append(f"`item` under {group or 'the questionnaire'} must be a list.")
            return
        if depth > MAX_DEPTH:
            errors.append(f"Items are nested more than {MAX_DEPTH} levels deep (under {group!r}).")
            return
        for item in items:
            if len(parsed.questions) + len(errors) > MAX_ITEMS:
                errors.append(f"More than {MAX_ITEMS} items.")
                return
            if not isinstance(item, dict):
                errors.append("An item is not an object.")
                continue
            link_id = _text(item.get("linkId"), 200)
            where = f"item {link_id or '(no linkId)'}"
            if not LINK_ID.match(link_id):
                errors.append(f"{where}: linkId must be 1-100 letters, digits or / _ . : - characters.")
                continue
            if link_id in seen:
                errors.append(f"{where}: linkId used twice.")
                continue
            seen.add(link_id)
            kind = item.get("type")
            for ext in _exts(item):
                if ext.get("url") in REFUSED_EXTENSIONS:
                    errors.append(f"{where}: {REFUSED_EXTENSIONS[ext['url']]} isn't supported.")
            if kind == "group":
                walk(item.get("item") or [], depth + 1, _text(item.get("text"), 200) or link_id)
                continue
            item_code, item_system = _first_code(item)
            if any(e.get("url") in CALCULATED for e in _exts(item)) or item_code in instruments.TOTAL_CODES:
                # A computed total: the engine computes it; the code tells us which total it is.
                if item_code:
                    calculated.append(item_code)
                    continue
                errors.append(f"{where}: calculated items without a code aren't supported.")
                continue
            if kind not in TYPES and kind != "open-choice":
                errors.append(f"{where}: type {kind!r} isn't supported (supported: {', '.join(sorted(TYPES))}, "
                              "group).")
                continue
            if kind == "open-choice":
                errors.append(f"{where}: open-choice (free text beside the options) isn't supported.")
                continue
            controls = [c.get("code") for e in _exts(item) if e.get("url") == ITEM_CONTROL
                        for c in ((e.get("valueCodeableConcept") or {}).get("coding") or []) if isinstance(c, dict)]
            if kind == "display" and "help" in controls and parsed.questions:
                parsed.questions[-1]["help_text"] = _text(item.get("text"))
                continue
            options: list[dict] = []
            if kind == "choice":
                if item.get("answerValueSet"):
                    vs = contained.get(item["answerValueSet"])
                    if vs is None:
                        errors.append(f"{where}: answerValueSet {item['answerValueSet']!r} isn't contained in the "
                                      "file (external value sets can't be read).")
                        continue
                    options = _options_from_valueset(vs)
                else:
                    for opt in item.get("answerOption") or []:
                        parsed_opt = _option(opt) if isinstance(opt, dict) else None
                        if parsed_opt is None:
                            errors.append(f"{where}: an answerOption has no valueCoding, valueString, valueInteger "
                                          "or valueDate.")
                            continue
                        options.append(parsed_opt)
                if not options:
                    errors.append(f"{where}: a choice item needs answer options.")
                    continue
                if len(options) > MAX_OPTIONS:
                    errors.append(f"{where}: more than {MAX_OPTIONS} options.")
                    continue
                codes = [o["code"] for o in options]
                if "" in codes or len(set(codes)) != len(codes):
                    errors.append(f"{where}: every option needs a distinct code.")
                    continue
            elif item.get("answerOption") or item.get("answerValueSet"):
                errors.append(f"{where}: options on a {kind} item aren't supported.")
                continue
            qtype = TYPES[kind]
            if qtype == "choice" and item.get("repeats"):
                qtype = "multiple_choice"
            text = _text(item.get("text"))
            if not text:
                errors.append(f"{where}: the item has no text.")
                continue
            parsed.questions.append({
                "link_id": link_id, "code": item_code, "code_system": item_system, "text": text,
                "prefix": _text(item.get("prefix"), 20), "type": qtype, "required": bool(item.get("required")),
                "options": options, "enable_when": _enable_when(item, where, errors),
                "enable_behavior": "any" if item.get("enableBehavior") == "any" else "all",
                "help_text": "", "group": group,
            })

    walk(data.get("item") or [], 1, "")
    if not parsed.questions and not errors:
        errors.append("The questionnaire has no items to ask.")
    known = {q["link_id"] for q in parsed.questions}
    for q in parsed.questions:
        for cond in q["enable_when"]:
            if cond["question"] not in known:
                errors.append(f"item {q['link_id']}: enableWhen refers to {cond['question']!r}, which isn't a "
                              "question of this form.")
    if errors:
        raise ImportRefused(errors)
    parsed.scoring = scoring_for(data, parsed, calculated)
    return parsed


def scoring_for(data: dict, parsed: Parsed, calculated: list[str]) -> dict:
    """Our own scoring extension (a round trip of an export) wins; else a known instrument's
    declaration by panel code (an imported LOINC PHQ-9 scores exactly as the built-in); else a
    plain sum when the options carry scores and the form has a calculated total."""
    for ext in _exts(data):
        if ext.get("url") == MAHALO_SCORING and isinstance(ext.get("valueString"), str):
            try:
                value = json.loads(ext["valueString"])
            except ValueError:
                raise ImportRefused(["The scoring extension isn't valid JSON."]) from None
            if isinstance(value, dict):
                return value
    known = instruments.scoring_for_code(parsed.code)
    if known is not None:
        return known
    scored = any(o.get("score") is not None for q in parsed.questions for o in q["options"])
    if scored:
        declaration: dict = {"method": "sum", "missing": {"policy": "incomplete"}}
        if calculated:
            declaration["total"] = {"code": calculated[0]}
        return declaration
    return {}


# --- Export ---------------------------------------------------------------------------------

def export(questionnaire, questions) -> dict:
    """A FHIR R4 Questionnaire for one version, scores as ordinalValue, our scoring as an extension."""
    items = []
    for q in questions:
        item: dict = {"linkId": q.link_id, "text": q.text, "type": _fhir_type(q.type)}
        if q.code:
            item["code"] = [{"system": q.code_system or LOINC, "code": q.code}]
        if q.prefix:
            item["prefix"] = q.prefix
        if q.required:
            item["required"] = True
        if q.type == "multiple_choice":
            item["repeats"] = True
        if q.options:
            item["answerOption"] = []
            for o in q.options:
                coding = {"code": o["code"], "display": o.get("display", "")}
                if o.get("system"):
                    coding["system"] = o["system"]
                opt: dict = {"valueCoding": coding}
                if o.get("score") is not None:
                    opt["extension"] = [{"url": SCORE_URLS[0], "valueDecimal": o["score"]}]
                item["answerOption"].append(opt)
        if q.enable_when:
            item["enableWhen"] = [_fhir_enable(c) for c in q.enable_when]
            if q.enable_behavior == "any":
                item["enableBehavior"] = "any"
        items.append(item)
        if q.help_text:
            items.append({"linkId": f"{q.link_id}-help", "text": q.help_text, "type": "display",
                          "extension": [{"url": ITEM_CONTROL, "valueCodeableConcept": {"coding": [
                              {"system": "http://hl7.org/fhir/questionnaire-item-control", "code": "help"}]}}]})
    out = {"resourceType": "Questionnaire", "id": str(questionnaire.pk), "status": "active" if
           questionnaire.is_published else questionnaire.status, "name": questionnaire.name,
           "title": questionnaire.name, "version": questionnaire.version_label or str(questionnaire.version),
           "code": [{"system": LOINC if re.match(r"^\d+-\d$", questionnaire.code) else "urn:mahalo:questionnaire",
                     "code": questionnaire.code}], "item": items}
    if questionnaire.url:
        out["url"] = questionnaire.url
    if questionnaire.description:
        out["description"] = questionnaire.description
    if questionnaire.scoring:
        out["extension"] = [{"url": MAHALO_SCORING, "valueString": json.dumps(questionnaire.scoring)}]
    return out


def _fhir_type(kind: str) -> str:
    return {"multiple_choice": "choice", "scale": "choice", "text": "text"}.get(kind, kind)


def _fhir_enable(cond: dict) -> dict:
    value = cond.get("answer")
    key = ("answerBoolean" if isinstance(value, bool) else "answerInteger" if isinstance(value, int)
           else "answerDecimal" if isinstance(value, float) else "answerCoding")
    return {"question": cond["question"], "operator": cond["operator"],
            key: {"code": value} if key == "answerCoding" else value}


# --- QuestionnaireResponse -------------------------------------------------------------------

ANSWER_KEYS = ("valueCoding", "valueString", "valueInteger", "valueDecimal", "valueBoolean", "valueDate")


def response_answers(data: dict) -> tuple[dict, list[str]]:
    """A FHIR QuestionnaireResponse -> ({linkId: value or [values]}, errors). Groups are flattened."""
    errors: list[str] = []
    answers: dict = {}
    if data.get("resourceType") != "QuestionnaireResponse":
        return {}, ["resourceType must be QuestionnaireResponse."]
    if data.get("status", "completed") not in ("completed", "amended"):
        errors.append("status must be completed (or amended).")

    def walk(items, depth):
        if not isinstance(items, list) or depth > MAX_DEPTH:
            errors.append("item must be a list, nested at most 4 levels.")
            return
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("linkId"), str):
                errors.append("Every item needs a linkId.")
                continue
            values = []
            for ans in item.get("answer") or []:
                if not isinstance(ans, dict):
                    continue
                keys = [k for k in ANSWER_KEYS if k in ans]
                if len(keys) != 1:
                    errors.append(f"item {item['linkId']}: each answer needs exactly one value[x] we can read.")
                    continue
                value = ans[keys[0]]
                values.append(value.get("code") if isinstance(value, dict) else value)
                if isinstance(ans.get("item"), list):
                    walk(ans["item"], depth + 1)
            if values:
                answers[item["linkId"]] = values if len(values) > 1 else values[0]
            if isinstance(item.get("item"), list):
                walk(item["item"], depth + 1)

    walk(data.get("item") or [], 1)
    return answers, errors
