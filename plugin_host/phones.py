"""Phone number normalisation (phonenumbers) and the keys caller-ID lookup matches on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

_DIGITS = re.compile(r"\d")
_INTERNAL = re.compile(r"^\s*\*?\d{1,6}\s*$")


@dataclass(frozen=True)
class NormalisedPhone:
    """A phone number as stored: raw text always kept; E.164 only when it is a real number.

    ``kind`` is ``e164`` (a dialable public number), ``internal`` (a short number or PBX
    extension, kept as digits and matched exactly) or ``invalid`` (kept raw and flagged).
    """

    raw: str
    e164: str | None
    national: str | None
    extension: str | None
    kind: str
    digits: str

    @property
    def valid(self) -> bool:
        return self.kind != "invalid"

    @property
    def digits_rev(self) -> str:
        """Reversed digits: a suffix match becomes an indexable prefix range."""
        return self.digits[::-1]


def digits_of(text: str) -> str:
    return "".join(_DIGITS.findall(text))


_PRIMED: dict[tuple[str, str], NormalisedPhone] = {}


def normalise(raw: str, region: str = "US", internal_max_digits: int = 6) -> NormalisedPhone:
    """Normalise ``raw`` using ``region`` for national formats (cached; see ``prime``).

    Numbers of at most ``internal_max_digits`` digits (PBX extensions, short codes such as
    112) are never forced into E.164. Anything phonenumbers cannot parse, or parses to an
    impossible number, is kept raw and flagged ``invalid``, never dropped.
    """
    if _PRIMED and internal_max_digits == 6:
        hit = _PRIMED.get((raw, region))
        if hit is not None:
            return hit
    return _normalise(raw, region, internal_max_digits)


def prime(results: dict[tuple[str, str], NormalisedPhone]) -> None:
    """Results computed elsewhere (another process, same code) for ``normalise(raw, region)``.

    The import pipeline normalises the next batch's numbers in a second process and primes
    them here; ``unprime`` forgets them. A miss simply computes the number here.
    """
    _PRIMED.update(results)


def unprime(keys: object = None) -> None:
    """Forget primed results (``keys``: an iterable of (raw, region); ``None``: all)."""
    if keys is None:
        _PRIMED.clear()
        return
    for k in keys:  # type: ignore[attr-defined]
        _PRIMED.pop(k, None)


def clear_cache() -> None:
    """Forget cached results (a long-running reader bounds its memory with it)."""
    _normalise.cache_clear()


def normalise_many(numbers: list[str], region: str) -> list[NormalisedPhone]:
    """``normalise`` for each number (what the pipeline's second process runs)."""
    return [normalise(n, region) for n in numbers]


@lru_cache(maxsize=200_000)
def _normalise(raw: str, region: str = "US", internal_max_digits: int = 6) -> NormalisedPhone:
    text = (raw or "").strip()
    digits = digits_of(text)
    if _INTERNAL.match(text) and len(digits) <= internal_max_digits:
        return NormalisedPhone(text, None, None, None, "internal", digits)
    parsed = _parse(text, region.upper() if region else None)
    reason = _possibility(parsed)
    if reason != ValidationResult.IS_POSSIBLE and text.startswith("00"):
        # "00" is the international prefix almost everywhere; where the region's own prefix
        # differs (US: 011) "0041 44 ..." is still unambiguous, as no national number starts 00.
        alt = _parse("+" + text[2:], None)
        alt_reason = _possibility(alt)
        if alt_reason == ValidationResult.IS_POSSIBLE:
            parsed, reason = alt, alt_reason
    if parsed is None:
        return NormalisedPhone(text, None, None, None, "invalid", digits)
    if reason != ValidationResult.IS_POSSIBLE:
        # Impossible, or local-only (no area code): forcing it into E.164 would invent a wrong
        # number (+15550101). Keep it raw and flagged, with its digits for suffix matching.
        local = str(parsed.national_number) if reason == ValidationResult.IS_POSSIBLE_LOCAL_ONLY else digits
        return NormalisedPhone(text, None, None, parsed.extension or None, "invalid", local)
    e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    national = str(parsed.national_number)
    return NormalisedPhone(text, e164, national, parsed.extension or None, "e164", e164[1:])


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException:
        return None


def _possibility(parsed: phonenumbers.PhoneNumber | None) -> int | None:
    return None if parsed is None else phonenumbers.is_possible_number_with_reason(parsed)


def is_valid_region(region: str) -> bool:
    """True for a two-letter region phonenumbers knows (e.g. ``DE``, ``US``, ``GB``)."""
    return region.upper() in phonenumbers.SUPPORTED_REGIONS
