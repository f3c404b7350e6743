"""Photos of the demo world's ID documents, as a customer's phone would take them.

    person = load_world().people["C010"]
    jpeg = photo(person, "resident_card", defects=("glare",))   # bytes to upload

Each document type has a fictional layout of its own (a 주민등록증, a 운전면허증 and a 여권
data page with its ICAO 9303 machine-readable zone), drawn with Pillow in Debian's Nanum
fonts (fonts-nanum), laid on a table and photographed: scaled, turned a little, lit. The
defects are the ones the center must refuse or cope with: ``blur`` (Gaussian), ``glare``
(a bright ellipse over the text), ``warp`` (a strong perspective), ``crop`` (the card runs
out of the frame), ``small`` (the card far away), ``dark`` (a dim room). A ``warp`` alone is
not a refusal: the center corrects the perspective.

The cards are fictional: no real card's design, serial or hologram is copied.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from certcenter.identity.documents.mrz import td3_lines
from certcenter.simulators.world import Person

__all__ = ["DEFECTS", "FONT_DIR", "KINDS", "CardFacts", "card_facts", "photo", "render_card"]

FONT_DIR = Path("/usr/share/fonts/truetype/nanum")
#: The MRZ is printed in a monospaced face (OCR-B on real passports; DejaVu Sans Mono here).
MRZ_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf")
KINDS = ("resident_card", "driver_licence", "passport")
DEFECTS = ("blur", "glare", "warp", "crop", "small", "dark")

#: ID-1 (85.6 × 54 mm) and the passport's ID-3 data page (125 × 88 mm) at 12 px/mm.
_ID1 = (1027, 648)
_ID3 = (1500, 1056)


@dataclass(frozen=True)
class CardFacts:
    """What is printed on a person's document: the truth a reading is scored against."""

    kind: str
    fields: dict[str, str]


def _font(size: int, *, bold: bool = False, mono: bool = False) -> ImageFont.FreeTypeFont:
    if mono:
        name = "NanumGothicCodingBold.ttf" if bold else "NanumGothicCoding.ttf"
    else:
        name = "NanumGothicBold.ttf" if bold else "NanumGothic.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), size)


def _dotted(day: date) -> str:
    return f"{day.year}. {day.month}. {day.day}."


def card_facts(person: Person, kind: str, *, old_card: bool = False) -> CardFacts:
    """The fields of ``person``'s document of ``kind``; ``old_card``: the resident card
    replaced by a re-issue (its old issue date)."""
    if kind == "resident_card":
        cards = person.resident_cards
        if not cards:
            raise ValueError(f"{person.key} has no resident card")
        chosen = next((c for c in cards if not c.get("current", True)), None) if old_card else None
        card = chosen or next((c for c in cards if c.get("current", True)), cards[-1])
        return CardFacts(
            kind,
            {
                "name": person.name,
                "rrn": f"{person.rrn.digits[:6]}-{person.rrn.digits[6:]}",
                "issue_date": card["issue_date"].isoformat(),
            },
        )
    if kind == "driver_licence":
        licence = person.driver_licence
        if licence is None:
            raise ValueError(f"{person.key} has no driver licence")
        return CardFacts(
            kind,
            {
                "name": person.name,
                "birth_date": person.rrn.birth_date.isoformat(),
                "number": str(licence["number"]),
                "serial": str(licence["serial"]),
            },
        )
    if kind == "passport":
        passport = person.passport
        if passport is None:
            raise ValueError(f"{person.key} has no passport")
        return CardFacts(
            kind,
            {
                "name": person.name,
                "romanized": str(passport.get("romanized", "")),
                "birth_date": person.rrn.birth_date.isoformat(),
                "number": str(passport["number"]),
                "expiry": passport["expiry"].isoformat(),
                "sex": "F" if person.rrn.digits[6] in "2468" else "M",
            },
        )
    raise ValueError(f"unknown document kind {kind!r}")


def _background(size: tuple[int, int], tint: tuple[int, int, int], seed: int) -> Image.Image:
    """A security-print-like background: a tinted field with fine guilloche-ish waves, never
    white (a white card would look like glare to any saturation test)."""
    card = Image.new("RGB", size, tint)
    draw = ImageDraw.Draw(card)
    rng = random.Random(seed)  # noqa: S311 - the picture varies, nothing secret
    shade = tuple(max(0, c - 18) for c in tint)
    width, height = size
    for row in range(0, height, 22):
        phase = rng.uniform(0, 40)
        points = [(x, row + 6 * ((x + phase) % 80 > 40)) for x in range(0, width + 40, 40)]
        draw.line(points, fill=shade, width=1)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=36, outline=shade, width=4)
    return card


def _portrait(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int]) -> None:
    left, top, right, bottom = box
    draw.rectangle(box, fill=(200, 205, 212), outline=(120, 120, 130), width=2)
    cx, w = (left + right) // 2, right - left
    draw.ellipse(
        (cx - w // 4, top + w // 6, cx + w // 4, top + w // 6 + w // 2), fill=(150, 150, 160)
    )
    draw.pieslice(
        (left + w // 10, top + w * 2 // 3, right - w // 10, bottom + w // 2),
        180,
        360,
        fill=(150, 150, 160),
    )


def _resident_card(facts: CardFacts, seed: int) -> Image.Image:
    card = _background(_ID1, (214, 228, 238), seed)
    draw = ImageDraw.Draw(card)
    ink = (25, 25, 35)
    draw.text((60, 45), "주민등록증", font=_font(64, bold=True), fill=ink)
    draw.text((80, 175), facts.fields["name"], font=_font(58, bold=True), fill=ink)
    rrn = facts.fields["rrn"]
    draw.text((80, 265), rrn, font=_font(52, bold=True), fill=ink)
    draw.text((80, 365), "서울특별시 종로구 세종대로 209", font=_font(34), fill=ink)
    issued = date.fromisoformat(facts.fields["issue_date"])
    draw.text((380, 480), _dotted(issued), font=_font(42, bold=True), fill=ink)
    draw.text((350, 545), "서울특별시 종로구청장", font=_font(38, bold=True), fill=ink)
    _portrait(draw, (730, 150, 960, 450))
    return card


def _driver_licence(facts: CardFacts, seed: int) -> Image.Image:
    card = _background(_ID1, (236, 226, 214), seed + 1)
    draw = ImageDraw.Draw(card)
    ink = (25, 25, 35)
    draw.text((50, 40), "자동차운전면허증", font=_font(60, bold=True), fill=ink)
    n = facts.fields["number"]
    draw.text(
        (50, 140), f"{n[0:2]}-{n[2:4]}-{n[4:10]}-{n[10:12]}", font=_font(50, bold=True), fill=ink
    )
    draw.text((50, 230), facts.fields["name"], font=_font(54, bold=True), fill=ink)
    born = date.fromisoformat(facts.fields["birth_date"])
    draw.text((50, 320), f"생년월일 {_dotted(born)}", font=_font(42, bold=True), fill=ink)
    draw.text((50, 400), "1종보통", font=_font(40), fill=ink)
    draw.text((50, 540), "서울특별시경찰청장", font=_font(38, bold=True), fill=ink)
    _portrait(draw, (760, 150, 980, 430))
    draw.text((780, 480), facts.fields["serial"], font=_font(44, bold=True), fill=ink)
    return card


def _passport(facts: CardFacts, seed: int) -> Image.Image:
    page = _background(_ID3, (222, 232, 218), seed + 2)
    draw = ImageDraw.Draw(page)
    ink = (25, 25, 35)
    fields = facts.fields
    romanized = fields["romanized"] or "HONG GILDONG"
    surname, _, given = romanized.partition(" ")
    born = date.fromisoformat(fields["birth_date"])
    expiry = date.fromisoformat(fields["expiry"])
    draw.text((60, 40), "여권 PASSPORT", font=_font(60, bold=True), fill=ink)
    draw.text((700, 50), "대한민국 REPUBLIC OF KOREA", font=_font(40, bold=True), fill=ink)
    _portrait(draw, (60, 170, 400, 600))
    labels = [
        (170, f"여권번호 {fields['number']}"),
        (250, f"성 {surname}"),
        (330, f"이름 {given}"),
        (410, f"한글성명 {fields['name']}"),
        (490, f"생년월일 {born:%d %b %Y}".upper()),
        (570, f"기간만료일 {expiry:%d %b %Y}".upper()),
    ]
    for top, text in labels:
        draw.text((460, top), text, font=_font(46, bold=True), fill=ink)
    line1, line2 = td3_lines(
        document_type="PR" if fields["number"].startswith("R") else "PM",
        country="KOR",
        surname=surname,
        given_names=given,
        number=fields["number"],
        nationality="KOR",
        birth_date=born,
        sex=fields["sex"],
        expiry=expiry,
        personal_number="",
    )
    mono = ImageFont.truetype(str(MRZ_FONT), 46)
    draw.rectangle((0, 800, _ID3[0], _ID3[1]), fill=(236, 240, 234))
    draw.text((40, 840), line1, font=mono, fill=ink)
    draw.text((40, 940), line2, font=mono, fill=ink)
    return page


def render_card(facts: CardFacts, *, seed: int = 0, mrz_override: str | None = None) -> Image.Image:
    """The document itself, flat and sharp. ``mrz_override`` replaces the passport's second
    MRZ line (a forged or mistyped check digit)."""
    if facts.kind == "resident_card":
        return _resident_card(facts, seed)
    if facts.kind == "driver_licence":
        return _driver_licence(facts, seed)
    page = _passport(facts, seed)
    if mrz_override is not None:
        draw = ImageDraw.Draw(page)
        draw.rectangle((0, 920, _ID3[0], _ID3[1]), fill=(236, 240, 234))
        draw.text(
            (40, 940), mrz_override, font=ImageFont.truetype(str(MRZ_FONT), 46), fill=(25, 25, 35)
        )
    return page


def _table(size: tuple[int, int], seed: int) -> Image.Image:
    rng = random.Random(seed)  # noqa: S311 - the picture varies, nothing secret
    base = (rng.randint(70, 110), rng.randint(60, 90), rng.randint(45, 70))
    table = Image.new("RGB", size, base)
    draw = ImageDraw.Draw(table)
    for row in range(0, size[1], 9):
        shade = tuple(max(0, min(255, c + rng.randint(-8, 8))) for c in base)
        draw.line([(0, row), (size[0], row + rng.randint(-3, 3))], fill=shade, width=4)
    return table.filter(ImageFilter.GaussianBlur(2))


def _coefficients(
    source: list[tuple[float, float]], target: list[tuple[float, float]]
) -> tuple[float, ...]:
    """The 8 coefficients Pillow's PERSPECTIVE transform takes, mapping ``target`` (output
    pixels) back to ``source`` (input pixels)."""
    rows: list[list[float]] = []
    rhs: list[float] = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs.extend((u, v))
    return tuple(_solve(rows, rhs))


def _solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (8 × 8)."""
    n = len(rhs)
    a = [[*row, rhs[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(n):
            if r != col:
                factor = a[r][col] / a[col][col]
                a[r] = [x - factor * y for x, y in zip(a[r], a[col], strict=True)]
    return [a[i][n] / a[i][i] for i in range(n)]


def _place(
    card: Image.Image, frame: tuple[int, int], corners: list[tuple[float, float]], seed: int
) -> Image.Image:
    table = _table(frame, seed)
    width, height = card.size
    source = [(0.0, 0.0), (float(width), 0.0), (float(width), float(height)), (0.0, float(height))]
    coefficients = _coefficients(source, corners)
    warped = card.transform(
        frame, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC
    )
    mask = Image.new("L", card.size, 255).transform(
        frame, Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR
    )
    table.paste(warped, (0, 0), mask)
    return table


def _corners(
    frame: tuple[int, int],
    card: tuple[int, int],
    *,
    scale: float,
    skew: float,
    shift: tuple[float, float],
    rng: random.Random,
) -> list[tuple[float, float]]:
    fw, fh = frame
    cw, ch = card[0] * scale, card[1] * scale
    cx, cy = fw / 2 + shift[0] * fw, fh / 2 + shift[1] * fh
    jitter = skew * cw
    base = [(-cw / 2, -ch / 2), (cw / 2, -ch / 2), (cw / 2, ch / 2), (-cw / 2, ch / 2)]
    return [
        (cx + x + rng.uniform(-jitter, jitter), cy + y + rng.uniform(-jitter, jitter))
        for x, y in base
    ]


def _glare(image: Image.Image, rng: random.Random) -> Image.Image:
    width, height = image.size
    layer = Image.new("L", image.size, 0)
    draw = ImageDraw.Draw(layer)
    cx, cy = width * rng.uniform(0.4, 0.6), height * rng.uniform(0.4, 0.55)
    rx, ry = width * rng.uniform(0.16, 0.22), height * rng.uniform(0.1, 0.14)
    draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=255)
    layer = layer.filter(ImageFilter.GaussianBlur(min(rx, ry) / 4))
    white = Image.new("RGB", image.size, (255, 255, 255))
    return Image.composite(white, image, layer)


def _darken(image: Image.Image, factor: float) -> Image.Image:
    return image.point(lambda value: int(value * factor))


def photo(
    person: Person,
    kind: str,
    *,
    defects: Iterable[str] = (),
    seed: int = 0,
    old_card: bool = False,
    mrz_override: str | None = None,
    frame: tuple[int, int] = (1600, 1200),
) -> bytes:
    """A JPEG photo of ``person``'s document of ``kind`` with the named ``defects``."""
    chosen = set(defects)
    unknown = chosen - set(DEFECTS)
    if unknown:
        raise ValueError(f"unknown defects: {', '.join(sorted(unknown))}")
    facts = card_facts(person, kind, old_card=old_card)
    card = render_card(facts, seed=seed, mrz_override=mrz_override)
    rng = random.Random(seed * 7919 + len(kind))  # noqa: S311 - a picture, not a secret
    fit = min(frame[0] / card.size[0], frame[1] / card.size[1])
    scale = fit * rng.uniform(0.72, 0.82)
    shift = (rng.uniform(-0.03, 0.03), rng.uniform(-0.03, 0.03))
    skew = 0.015
    if "warp" in chosen:
        skew = 0.07
    if "small" in chosen:
        scale = fit * rng.uniform(0.3, 0.36)
    if "crop" in chosen:
        shift = (rng.choice((-1, 1)) * rng.uniform(0.3, 0.38), shift[1])
    corners = _corners(frame, card.size, scale=scale, skew=skew, shift=shift, rng=rng)
    image = _place(card, frame, corners, seed)
    if "glare" in chosen:
        image = _glare(image, rng)
    if "blur" in chosen:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(5.0, 7.0)))
    else:
        image = image.filter(ImageFilter.GaussianBlur(0.6))  # a phone camera is never perfect
    if "dark" in chosen:
        image = _darken(image, rng.uniform(0.12, 0.18))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()
