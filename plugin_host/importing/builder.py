"""RecordBuilder: a mapping compiled once, applied to each row's cells (the per-row hot path)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plugin_host.importing import fields as f
from plugin_host.importing.errors import RowError
from plugin_host.records import ContactRecord, EmailIn, PhoneIn

# (cell index, fixed label or None, index of the label column or None, column name)
_Slot = tuple[int, "str | None", "int | None", str]


class RecordBuilder:
    """Turns cells into a ``ContactRecord`` following a target-per-column mapping."""

    def __init__(
        self, header: Sequence[str], mapping: Sequence[str | None], blank_clears: bool, options: f.RowOptions
    ) -> None:
        if len(mapping) != len(header):
            raise ValueError(f"mapping has {len(mapping)} targets for {len(header)} columns")
        for col, target in zip(header, mapping, strict=True):
            if not f.is_target(target):
                raise ValueError(f"column {col!r}: unknown target {target!r}")
        self._blank_clears = blank_clears
        self._o = options
        self._null = options.null_values
        self._width = len(header)
        cols = [(i, t, header[i]) for i, t in enumerate(mapping) if t is not None]
        self._text = [(i, t, c) for i, t, c in cols if t in f.TEXT_TARGETS]
        self._enum = [(i, t, c) for i, t, c in cols if t in f.ENUM_TARGETS]
        self._bool = [(i, t, c) for i, t, c in cols if t in f.BOOL_TARGETS]
        self._full = [i for i, t, _ in cols if t == "_full_name"]
        self._tags = [i for i, t, _ in cols if t == "_tag"]
        self._lists = [i for i, t, _ in cols if t == "_list"]
        self._custom = [(i, t[3:].strip()) for i, t, _ in cols if t.startswith("cf:")]
        self._phones = _slots(cols, "phone", "mobile", f.PHONE_TARGETS)
        self._emails = _slots(cols, "email", None, f.EMAIL_TARGETS)
        self._cleared = {t: "" for _, t, _ in self._text + self._enum}
        self._simple = not options.multi_value_sep and not options.primary_mark
        names = {t for _, t, _ in self._text + self._enum + self._bool}
        names |= {"first_name", "last_name", "phones", "emails", "tags", "lists", "custom"}
        unknown = names - ContactRecord.__dataclass_fields__.keys()
        if unknown:
            raise ValueError(f"targets that are not ContactRecord fields: {sorted(unknown)}")

    def build(self, cells: Sequence[str]) -> ContactRecord:
        """One row -> record; ``RowError`` lists every invalid value of the row."""
        if len(cells) < self._width:
            raise RowError(f"the row has {len(cells)} cells, expected {self._width}")
        values: dict[str, Any] = dict(self._cleared) if self._blank_clears else {}
        errors: list[str] = []
        self._put_text(cells, values)
        self._put_enums(cells, values, errors)
        self._put_bools(cells, values, errors)
        if self._full:
            self._put_full_name(cells, values)
        if self._phones:
            values["phones"] = self._collect(cells, self._phones, _phone)
        if self._emails:
            values["emails"] = self._collect(cells, self._emails, _email)
        if self._tags:
            values["tags"] = self._split_tags(cells)
        if self._lists:
            values["lists"] = self._many(cells, self._lists)
        if self._custom:
            values["custom"] = self._custom_values(cells)
        if errors:
            raise RowError("; ".join(errors))
        return ContactRecord.of(values)  # every key is a field (checked in __init__)

    def value(self, raw: str) -> str | None:
        """A cell's value: neutralising quote removed, outer space stripped, blank/null -> None."""
        if not raw:
            return None
        if raw[0] == "'":
            raw = f.unneutralise(raw)
        v = raw.strip()
        if not v or v in self._null:
            return None
        return v

    def _put_text(self, cells: Sequence[str], values: dict[str, Any]) -> None:
        for i, name, _ in self._text:
            v = self.value(cells[i])
            if v is None:
                continue
            if "\r" in v:
                v = v.replace("\r\n", "\n").replace("\r", "\n")
            if values.get(name):
                if name == "notes":
                    values[name] += "\n" + v
                continue
            values[name] = v

    def _put_enums(self, cells: Sequence[str], values: dict[str, Any], errors: list[str]) -> None:
        for i, name, column in self._enum:
            v = self.value(cells[i])
            if v is None or values.get(name):
                continue
            try:
                values[name] = f.parse_enum(name, v, lenient_contact_type=self._o.lenient_contact_type)
            except RowError as exc:
                errors.append(f"{exc} (column {column!r})")

    def _put_bools(self, cells: Sequence[str], values: dict[str, Any], errors: list[str]) -> None:
        for i, name, column in self._bool:
            v = self.value(cells[i])
            if v is None:
                continue
            try:
                values[name] = f.parse_bool(name, v)
            except RowError as exc:
                errors.append(f"{exc} (column {column!r})")

    def _put_full_name(self, cells: Sequence[str], values: dict[str, Any]) -> None:
        if values.get("first_name") or values.get("last_name"):
            return
        for i in self._full:
            v = self.value(cells[i])
            if v:
                first, last = f.split_full_name(v)
                values["first_name"], values["last_name"] = first, last
                return

    def _collect(self, cells: Sequence[str], slots: list[_Slot], make: Any) -> tuple | None:
        if self._simple and len(slots) == 1:  # one column, one value, no primary marks
            i, fixed, label_i, _ = slots[0]
            v = self.value(cells[i])
            if v is None:
                return () if self._blank_clears else None
            return (make(v, fixed if label_i is None else (cells[label_i] or "").strip(), self._o),)
        primary: list = []
        rest: list = []
        seen: set[str] = set()
        sep, mark = self._o.multi_value_sep, self._o.primary_mark
        for i, fixed, label_i, _ in slots:
            v = self.value(cells[i])
            if v is None:
                continue
            label_text = fixed if label_i is None else (cells[label_i] or "").strip()
            is_primary = bool(mark and label_text and label_text.startswith(mark.strip()))
            if is_primary:
                label_text = label_text[len(mark.strip()) :].strip()
            target = primary if is_primary else rest
            for part in v.split(sep) if sep and sep in v else (v,):
                part = part.strip()
                if part and part not in seen:
                    seen.add(part)
                    target.append(make(part, label_text, self._o))
        found = tuple(primary + rest)
        return found or (() if self._blank_clears else None)

    def _split_tags(self, cells: Sequence[str]) -> tuple[str, ...] | None:
        sep = self._o.multi_value_sep
        mark = (self._o.primary_mark or "").strip() if self._o.drop_marked_tags else ""
        tags: list[str] = []
        for i in self._tags:
            v = self.value(cells[i])
            if v is None:
                continue
            for part in v.split(sep) if sep and sep in v else v.split(";"):
                part = part.strip()
                if part and not (mark and part.startswith(mark)) and part not in tags:
                    tags.append(part)
        return tuple(tags) or (() if self._blank_clears else None)

    def _many(self, cells: Sequence[str], indexes: list[int]) -> tuple[str, ...] | None:
        found = [v for i in indexes if (v := self.value(cells[i])) is not None]
        return tuple(dict.fromkeys(found)) or (() if self._blank_clears else None)

    def _custom_values(self, cells: Sequence[str]) -> dict[str, str] | None:
        out: dict[str, str] = {}
        for i, name in self._custom:
            v = self.value(cells[i])
            if v is not None:
                out[name] = v
            elif self._blank_clears:
                out.setdefault(name, "")
        return out or None


def _phone(number: str, label: str | None, options: f.RowOptions) -> PhoneIn:
    return PhoneIn(number, f.phone_label_of(label, options.default_phone_label))


def _email(address: str, label: str | None, options: f.RowOptions) -> EmailIn:
    return EmailIn(address, f.email_label_of(label, options.default_email_label))


def _slots(cols: list[tuple[int, str, str]], plain: str, mobile: str | None, targets: Sequence[str]) -> list[_Slot]:
    """Value columns with their label; the n-th ``<plain>_label`` column labels the n-th ``<plain>`` column."""
    label_cols = [i for i, t, _ in cols if t == f"{plain}_label"]
    slots: list[_Slot] = []
    n_plain = 0
    for i, t, c in cols:
        if t not in targets:
            continue
        if t == plain:
            label_i = label_cols[n_plain] if n_plain < len(label_cols) else None
            n_plain += 1
            slots.append((i, None, label_i, c))
        else:
            slots.append((i, "mobile" if t == mobile else t.split(":", 1)[1], None, c))
    return slots
