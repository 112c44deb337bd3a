"""Deterministic demo data: two surf schools with 18 months of slots, customers, families and bookings."""

from __future__ import annotations

import asyncio
import bisect
import calendar
import itertools
import json
import logging
import math
import random
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache, partial
from time import perf_counter
from zoneinfo import ZoneInfo

from faker import Faker
from piccolo.engine.sqlite import SQLiteTransaction, TransactionType

from domain.bookings import (
    BOOKING_ROW,
    BOOKING_STATUSES,
    PARTICIPANT_ROW,
    PAYMENT_STATUSES,
    REFERENCE_ALPHABET,
    ParticipantInput,
    booking_name_tokens,
    booking_rows,
)
from domain.crypto import name_words, normalise_phone
from domain.customers import CUSTOMER_ROW, customer_row
from domain.keys import Vault
from domain.providers import create_provider
from domain.scope import Scope, load_scope
from domain.tables import Booking, Experience, Provider, Slot

log = logging.getLogger(__name__)

__all__ = ["PROFILES", "DemoError", "DemoProfile", "load_bulk", "load_demo"]


class DemoError(Exception):
    """The demo cannot be loaded as asked (an unknown profile, or the provider already exists)."""


# ---------------------------------------------------------------------------------------------
# What each demo provider sells, in its own language

ADULT_SIZES = ("XS", "S", "M", "L", "XL", "XXL")


@dataclass(frozen=True)
class Texts:
    """Everything a demo provider writes in its own language, plus what its customers write."""

    labels: dict[str, str]
    levels: tuple[str, str, str]  # beginner, intermediate, advanced
    child_sizes: tuple[str, ...]  # for ages 6-7, 8-9, 10-11, 12-13, 14
    swimming: tuple[str, str, str]  # confident, a little, not at all
    boards: tuple[str, ...]  # soft-top, mini-mal, longboard, shortboard, bodyboard
    goals: tuple[str, ...]
    experience_names: dict[str, str]
    preferences: tuple[str, ...]
    notes: tuple[str, ...]
    comments: tuple[str, ...]
    special_needs: tuple[str, ...]
    email_domains: tuple[str, ...]


FRENCH = Texts(
    labels={
        "level": "Niveau",
        "wetsuit_size": "Taille de combinaison",
        "weight_kg": "Poids (kg)",
        "swimming": "Sait nager ?",
        "board_type": "Type de planche",
        "goal": "Objectif de la séance",
    },
    levels=("Débutant", "Intermédiaire", "Confirmé"),
    child_sizes=("6 ans", "8 ans", "10 ans", "12 ans", "14 ans"),
    swimming=("Oui, 50 m sans aide", "Un peu", "Non"),
    boards=("Mousse 8'", "Évolutive 7'6", "Longboard 9'", "Shortboard 6'", "Bodyboard"),
    goals=("Se lever sur la planche", "Prendre des vagues vertes", "Améliorer le take-off",
           "Apprendre à lire l'océan", "Travailler les virages"),
    experience_names={
        "group": "Cours collectif de surf",
        "private": "Cours particulier",
        "kids": "Club enfants (6–14 ans)",
        "course": "Stage de surf 5 jours",
        "rental": "Location de planche",
    },
    preferences=("Préfère les séances du matin", "Végétarien", "Préfère les séances de fin d'après-midi",
                 "Préfère un moniteur anglophone", "Préfère les petits groupes", "Sans gluten",
                 "Préfère être contacté par WhatsApp", "Souhaite être avec ses amis dans le même groupe"),
    notes=("Client fidèle : lui proposer le stage d'été", "A laissé un avis 5 étoiles",
           "Paie généralement sur place", "Enfants très à l'aise dans l'eau", "Arrive souvent en avance"),
    comments=("Nous arriverons vers 8h45.", "Pouvez-vous prévoir une planche plus grande ?",
              "C'est un cadeau d'anniversaire !", "Y a-t-il un parking près de la plage ?",
              "Nous avons nos propres combinaisons.", "Possible d'avoir le même moniteur que l'an dernier ?",
              "Facture au nom de l'entreprise, s'il vous plaît.", "Des photos de la séance seraient super !"),
    special_needs=("Allergie aux arachides", "Première fois dans la mer", "Blessure au genou",
                   "Asthmatique, ventoline dans le sac", "Diabète de type 1", "Ne nage pas très bien",
                   "Porte des lentilles de contact", "Épaule fragile (luxation l'an dernier)"),
    email_domains=("example.com", "example.org", "example.net", "courriel.example", "boite.example"),
)

SPANISH = Texts(
    labels={
        "level": "Nivel",
        "wetsuit_size": "Talla de neopreno",
        "weight_kg": "Peso (kg)",
        "swimming": "¿Sabe nadar?",
        "board_type": "Tipo de tabla",
        "goal": "Objetivo de la sesión",
    },
    levels=("Principiante", "Intermedio", "Avanzado"),
    child_sizes=("6 años", "8 años", "10 años", "12 años", "14 años"),
    swimming=("Sí, 50 m sin ayuda", "Un poco", "No"),
    boards=("Espuma 8'", "Evolutiva 7'6", "Longboard 9'", "Shortboard 6'", "Bodyboard"),
    goals=("Ponerse de pie en la tabla", "Coger olas verdes", "Mejorar el take-off", "Aprender a leer el mar",
           "Trabajar los giros"),
    experience_names={
        "group": "Clase de surf en grupo",
        "private": "Clase particular",
        "kids": "Club infantil (6–14 años)",
        "course": "Curso de surf de 5 días",
        "rental": "Alquiler de tabla",
    },
    preferences=("Prefiere las sesiones de mañana", "Vegetariano", "Prefiere las sesiones de tarde",
                 "Prefiere un monitor que hable inglés", "Prefiere grupos pequeños", "Sin gluten",
                 "Prefiere que le contacten por WhatsApp", "Quiere estar en el mismo grupo que sus amigos"),
    notes=("Cliente fiel: ofrecerle el curso de verano", "Dejó una reseña de 5 estrellas",
           "Suele pagar en el local", "Los niños se manejan muy bien en el agua", "Siempre llega pronto"),
    comments=("Llegaremos sobre las 8:45.", "¿Podéis reservarme una tabla más grande?",
              "¡Es un regalo de cumpleaños!", "¿Hay aparcamiento cerca de la playa?",
              "Traemos nuestros propios neoprenos.", "¿Podemos repetir con el mismo monitor del año pasado?",
              "Factura a nombre de la empresa, por favor.", "¡Nos encantaría tener fotos de la sesión!"),
    special_needs=("Alergia a los frutos secos", "Primera vez en el mar", "Lesión de rodilla",
                   "Asmático, lleva el inhalador en la mochila", "Diabetes tipo 1", "No nada muy bien",
                   "Lleva lentillas", "Hombro delicado (luxación el año pasado)"),
    email_domains=("example.com", "example.org", "example.net", "correo.example", "buzon.example"),
)

# What foreign tourists write themselves (comments, special needs), whatever the provider's language.
TOURIST_COMMENTS = ("We will arrive around 8:45.", "Could you keep a bigger board for me?",
                    "It's a birthday present!", "Is there parking near the beach?", "We bring our own wetsuits.",
                    "Could we get some photos of the session?")
TOURIST_SPECIAL_NEEDS = ("Peanut allergy", "First time in the sea", "Knee injury", "Asthma (inhaler in the bag)",
                         "Type 1 diabetes", "Not a confident swimmer")
TOURIST_DOMAINS = ("example.com", "example.org", "example.net", "mail.example")

# kind → (fields as (key, required), minutes, capacity); prices are per provider.
EXPERIENCE_KINDS: dict[str, tuple[tuple[tuple[str, bool], ...], int, int]] = {
    "group": ((("level", True), ("wetsuit_size", True), ("swimming", True)), 120, 8),
    "private": ((("level", True), ("wetsuit_size", True), ("weight_kg", False), ("goal", False)), 90, 2),
    "kids": ((("level", True), ("wetsuit_size", True), ("swimming", True)), 120, 10),
    "course": ((("level", True), ("wetsuit_size", True), ("weight_kg", True), ("swimming", True)), 120, 8),
    "rental": ((("board_type", True), ("weight_kg", True), ("level", True), ("wetsuit_size", False)), 180, 20),
}
KINDS = tuple(EXPERIENCE_KINDS)


@dataclass(frozen=True)
class DemoProfile:
    """One demo provider: who it is, where, in which language, and what its customers look like."""

    slug: str
    name: str
    language: str
    timezone: str
    currency: str
    whatsapp: str
    contact_email: str
    locale: str  # Faker locale of the local customers
    phone_country: str  # "FR" or "ES": how local customers write their numbers
    texts: Texts
    prices: dict[str, int]  # kind → cents per participant (per session for a private lesson)
    # The customer every demo and test can look for: (first, last, phone, email, preference, children).
    known_customer: tuple[str, str, str, str, str, tuple[tuple[str, int], ...]]


PROFILES: dict[str, DemoProfile] = {
    "les-vagues": DemoProfile(
        slug="les-vagues",
        name="École de surf Les Vagues",
        language="fr",
        timezone="Europe/Paris",
        currency="EUR",
        whatsapp="+33655501020",
        contact_email="contact@les-vagues.example",
        locale="fr_FR",
        phone_country="FR",
        texts=FRENCH,
        prices={"group": 4500, "private": 9000, "kids": 3500, "course": 19000, "rental": 2000},
        known_customer=("Hélène", "Dubois", "06 12 34 56 78", "helene.dubois@example.com",
                        "Préfère les séances du matin", (("Léa", 9), ("Hugo", 12))),
    ),
    "ola-brava": DemoProfile(
        slug="ola-brava",
        name="Escuela de surf Ola Brava",
        language="es",
        timezone="Europe/Madrid",
        currency="EUR",
        whatsapp="+34655501020",
        contact_email="hola@ola-brava.example",
        locale="es_ES",
        phone_country="ES",
        texts=SPANISH,
        prices={"group": 4000, "private": 8000, "kids": 3000, "course": 17500, "rental": 1800},
        known_customer=("José", "García", "612 34 56 78", "jose.garcia@example.com", "Vegetariano",
                        (("Lucía", 9), ("Mateo", 12))),
    ),
}


def _profile(slug: str) -> DemoProfile:
    """A known profile, or les-vagues under another slug (benchmarks load providers of their own)."""
    if slug in PROFILES:
        return PROFILES[slug]
    base = PROFILES["les-vagues"]
    return replace(base, slug=slug, name=f"{base.name} ({slug})", contact_email=f"contact@{slug}.example")


def _participant_fields(texts: Texts, kind: str) -> list[dict]:
    fields = []
    for key, required in EXPERIENCE_KINDS[kind][0]:
        if key == "level":
            ftype, choices = "choice", list(texts.levels)
        elif key == "wetsuit_size":
            # Kids' club wetsuits come in children's sizes only.
            ftype, choices = "choice", list(texts.child_sizes) + ([] if kind == "kids" else list(ADULT_SIZES))
        elif key == "swimming":
            ftype, choices = "choice", list(texts.swimming)
        elif key == "board_type":
            ftype, choices = "choice", list(texts.boards)
        elif key == "weight_kg":
            ftype, choices = "number", []
        else:
            ftype, choices = "text", []
        fields.append({"key": key, "label": texts.labels[key], "type": ftype, "choices": choices,
                       "required": required})
    return fields


# ---------------------------------------------------------------------------------------------
# The timetable: 12 months back, 6 forward, busy in summer

SUMMER, SHOULDER, WINTER = "summer", "shoulder", "winter"
MONTH_DEMAND = {1: 0.3, 2: 0.35, 3: 0.45, 4: 0.7, 5: 0.8, 6: 1.3, 7: 2.2, 8: 2.4, 9: 1.2, 10: 0.7, 11: 0.35, 12: 0.3}
T0900, T1100, T1400, T1630 = time(9), time(11), time(14), time(16, 30)


def _season(month: int) -> str:
    if month in (6, 7, 8, 9):
        return SUMMER
    return SHOULDER if month in (4, 5, 10) else WINTER


def _session_times(kind: str, day: date) -> tuple[time, ...]:
    """Local start times of one experience on one day: every day in summer, weekends and Wednesdays in winter."""
    season, weekday = _season(day.month), day.weekday()
    weekend, wednesday, monday = weekday >= 5, weekday == 2, weekday == 0
    if kind == "group":
        if season == SUMMER:
            return T0900, T1100, T1400, T1630
        if season == SHOULDER:
            return (T1100, T1400, T1630) if weekend else (T1100, T1400)
        return (T1100, T1400) if weekend or wednesday else ()
    if kind == "private":
        if season == SUMMER:
            return T0900, T1100, T1630
        if season == SHOULDER:
            return (T1100, T1630) if weekend else (T1100,)
        return (T1100,) if weekend else ()
    if kind == "kids":  # French schools are off on Wednesday afternoons
        if season == SUMMER:
            return T0900, T1400
        if season == SHOULDER:
            return (T1400,) if weekday in (2, 5) else ()
        return (T1400,) if wednesday else ()
    if kind == "course":  # a week-long course starts on Mondays, in summer and the spring and autumn holidays
        if monday and (season == SUMMER or day.month in (4, 10)):
            return (T0900, T1400) if season == SUMMER else (T1400,)
        return ()
    if season == SUMMER:  # rental
        return T0900, T1400
    if season == SHOULDER:
        return (T0900, T1400) if weekend else (T1400,)
    return (T1100,) if weekend else ()


def dst_change_days(first: date, last: date) -> list[date]:
    """The last Sundays of March and October between two dates: the days Europe changes its clocks."""
    days = []
    for year in range(first.year, last.year + 1):
        for month in (3, 10):
            day = date(year, month, calendar.monthrange(year, month)[1])
            day -= timedelta(days=(day.weekday() - 6) % 7)
            if first <= day <= last:
                days.append(day)
    return days


@dataclass(frozen=True)
class _BaseSlot:
    kind: str
    starts_at: datetime  # aware, UTC
    day: date  # local date
    weight: float  # how likely a booking lands here


def _timetable(profile: DemoProfile, today: date) -> list[_BaseSlot]:
    tz = ZoneInfo(profile.timezone)
    first, last = today - timedelta(days=365), today + timedelta(days=183)
    slots = []
    day = first
    while day <= last:
        ahead = (day - today).days
        # Future sessions fill as their date nears: far ones hold only the early birds.
        visibility = 1.0 if ahead <= 0 else max(0.1, math.exp(-ahead / 40))
        weight = MONTH_DEMAND[day.month] * (1.3 if day.weekday() >= 5 else 1.0) * visibility
        for kind in KINDS:
            for start in _session_times(kind, day):
                starts_at = datetime.combine(day, start, tzinfo=tz).astimezone(UTC)
                slots.append(_BaseSlot(kind, starts_at, day, weight))
        day += timedelta(days=1)
    return slots


# ---------------------------------------------------------------------------------------------
# People: customers with their households


@dataclass(slots=True)
class _Person:
    first: str
    last: str
    birth: date
    child: bool
    level: int  # index into Texts.levels
    swim: int  # index into Texts.swimming
    weight: int  # adults: kg; children: kg above three times their age
    show_age: bool  # some adults leave their age out

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    def age_on(self, day: date) -> int:
        return day.year - self.birth.year - ((day.month, day.day) < (self.birth.month, self.birth.day))


@dataclass(slots=True)
class _Customer:
    booker: _Person
    others: list[_Person]  # partner, children, friends: who else comes along
    kind: str  # solo | couple | family | friends
    tourist: bool
    language: str
    email: str | None
    phone: str | None  # as typed
    phone_e164: str | None  # what normalise_phone makes of it, known without parsing it
    preferences: str | None
    notes: str | None
    marketing_consent: bool
    bookings: int
    customer_id: uuid.UUID
    created_at: datetime | None = None

    @property
    def children(self) -> list[_Person]:
        return [p for p in self.others if p.child]


class _Choice:
    """Values with weights, drawn with one random number (rng.choices rebuilds its tables on every call)."""

    __slots__ = ("cum", "values")

    def __init__(self, *pairs):
        self.values = tuple(v for v, _ in pairs)
        self.cum = list(itertools.accumulate(w for _, w in pairs))

    def draw(self, rng: random.Random):
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.cum[-1])]


CHILD_LEVEL, ADULT_LEVEL = _Choice((0, 0.7), (1, 0.25), (2, 0.05)), _Choice((0, 0.55), (1, 0.32), (2, 0.13))
CHILD_SWIM, ADULT_SWIM = _Choice((0, 0.72), (1, 0.24), (2, 0.04)), _Choice((0, 0.9), (1, 0.09), (2, 0.01))
# How people write their numbers (str.format fields: d = national digits, d0 = first digit, pairs, dots,
# g3222 and g333 = Spanish groupings).
PHONE_FORMATS = {
    "FR": _Choice(("0{d0} {pairs}", 0.4), ("0{d}", 0.2), ("+33 {d0} {pairs}", 0.2), ("+33{d}", 0.1),
                  ("0{d0}.{dots}", 0.07), ("0033 {d0} {pairs}", 0.03)),
    "ES": _Choice(("{g3222}", 0.35), ("{g333}", 0.2), ("{d}", 0.2), ("+34 {g333}", 0.15), ("+34{d}", 0.1)),
}
EMAIL_FORMATS = _Choice(("{first}.{last}", 0.4), ("{first}{last}", 0.15), ("{initial}.{last}", 0.15),
                        ("{first}_{last}{n}", 0.15), ("{last}.{first}", 0.1), ("{first}{year}", 0.05))


NAME_POOL = 1500
HOUSEHOLDS = _Choice(("solo", 0.42), ("couple", 0.16), ("family", 0.30), ("friends", 0.12))
RETURN_COUNTS = (2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 6)  # a returning customer books 2-6 times, mostly 2-3


class _People:
    """Makes customers and their companions, names from Faker in the right locale, contacts in varied formats."""

    def __init__(self, profile: DemoProfile, rng: random.Random, ids: random.Random, today: date):
        self.profile, self.rng, self.ids, self.today = profile, rng, ids, today
        self.names = {}
        for locale in (profile.locale, "en_GB", "de_DE"):
            fake = Faker(locale)
            fake.seed_instance(rng.getrandbits(32))
            # Faker takes ~10 µs a name; a pool drawn from it keeps its name frequencies at a tenth of the cost.
            self.names[locale] = (
                [fake.first_name_female() for _ in range(NAME_POOL)],
                [fake.first_name_male() for _ in range(NAME_POOL)],
                [fake.last_name() for _ in range(NAME_POOL)],
            )
        known = profile.known_customer
        # The known customer's number and address are theirs alone, so tests find exactly them.
        self.used_phones = {normalise_phone(known[2], profile.phone_country)}
        self.used_emails = {known[3]}

    # Names ------------------------------------------------------------------------------------

    def _surname(self, locale: str) -> str:
        surnames = self.names[locale][2]
        # Most Spaniards carry two surnames.
        if locale == "es_ES" and self.rng.random() < 0.7:
            return f"{self.rng.choice(surnames)} {self.rng.choice(surnames)}"
        return self.rng.choice(surnames)

    def _person(self, locale: str, last: str, *, age: int, child: bool) -> _Person:
        rng = self.rng
        female = rng.random() < 0.5
        first = rng.choice(self.names[locale][0 if female else 1])
        birth = self.today - timedelta(days=age * 365 + rng.randrange(365))
        if child:
            level, swim = CHILD_LEVEL.draw(rng), CHILD_SWIM.draw(rng)
            weight = rng.randint(-3, 6)
        else:
            level, swim = ADULT_LEVEL.draw(rng), ADULT_SWIM.draw(rng)
            weight = round(min(115, max(45, rng.gauss(63, 9) if female else rng.gauss(78, 10))))
        return _Person(first, last, birth, child, level, swim, weight, child or rng.random() < 0.85)

    def household(self, locale: str) -> tuple[str, _Person, list[_Person]]:
        rng = self.rng
        kind = HOUSEHOLDS.draw(rng)
        last = self._surname(locale)
        if kind == "family":
            booker = self._person(locale, last, age=rng.randint(32, 50), child=False)
            others = []
            if rng.random() < 0.5:  # the partner often shares the surname
                partner_last = last if rng.random() < 0.75 else self._surname(locale)
                others.append(self._person(locale, partner_last, age=booker.age_on(self.today) + rng.randint(-4, 4),
                                           child=False))
            # Ages 7-13 today stay within the kids' club's 6-14 over the 18 months of bookings.
            others += [self._person(locale, last, age=rng.randint(7, 13), child=True)
                       for _ in range(rng.choice((1, 1, 2, 2, 2, 3)))]
        elif kind == "couple":
            booker = self._person(locale, last, age=rng.randint(22, 65), child=False)
            partner_last = last if rng.random() < 0.5 else self._surname(locale)
            others = [self._person(locale, partner_last, age=max(18, booker.age_on(self.today) + rng.randint(-5, 5)),
                                   child=False)]
        elif kind == "friends":
            booker = self._person(locale, last, age=rng.randint(18, 35), child=False)
            others = [self._person(locale, self._surname(locale), age=rng.randint(18, 35), child=False)
                      for _ in range(rng.randint(2, 4))]
        else:
            booker = self._person(locale, last, age=rng.randint(18, 62), child=False)
            others = []
        return kind, booker, others

    # Contacts ---------------------------------------------------------------------------------

    def _phone(self, country: str) -> tuple[str, str]:
        """A new number as someone would type it, and its E.164 form."""
        rng = self.rng
        while True:
            if country == "GB":
                digits = f"7{rng.choice('4579')}{rng.randrange(10**8):08d}"
                e164, shown = "+44" + digits, f"+44 {digits[:4]} {digits[4:]}"
            elif country == "DE":
                digits = f"15{rng.choice('127')}{rng.randrange(10**8):08d}"
                e164, shown = "+49" + digits, f"+49 {digits[:3]} {digits[3:]}"
            else:
                d = f"{rng.choice('67')}{rng.randrange(10**8):08d}"
                e164 = ("+34" if country == "ES" else "+33") + d
                pairs = " ".join(d[i:i + 2] for i in range(1, 9, 2))
                shown = PHONE_FORMATS[country].draw(rng).format(
                    d=d, d0=d[0], pairs=pairs, dots=pairs.replace(" ", "."),
                    g3222=f"{d[:3]} {d[3:5]} {d[5:7]} {d[7:]}", g333=f"{d[:3]} {d[3:6]} {d[6:]}",
                )
            if e164 not in self.used_phones:
                self.used_phones.add(e164)
                return shown, e164

    def _email(self, person: _Person, domains: tuple[str, ...]) -> str:
        rng = self.rng
        first = "".join(_piece_words(person.first)) or "client"
        last = (_piece_words(person.last.split(" ")[0]) or ("client",))[0]
        local = EMAIL_FORMATS.draw(rng).format(first=first, last=last, initial=first[0], n=rng.randint(1, 99),
                                               year=rng.randint(1960, 2008))
        domain = rng.choice(domains)
        email = f"{local}@{domain}"
        while email in self.used_emails:
            email = f"{local}{rng.randint(2, 999)}@{domain}"
        self.used_emails.add(email)
        # Some people type their address with capitals; the index must still find them.
        if rng.random() < 0.08:
            email = ".".join(part.capitalize() for part in email.split("."))
        return email

    def customer(self, bookings: int) -> _Customer:
        rng, profile = self.rng, self.profile
        tourist = rng.random() < 0.12
        locale = rng.choice(("en_GB", "en_GB", "de_DE")) if tourist else profile.locale
        kind, booker, others = self.household(locale)
        country = {"en_GB": "GB", "de_DE": "DE"}.get(locale, profile.phone_country)
        texts = profile.texts
        has_email = rng.random() < 0.96
        phone, e164 = self._phone(country) if not has_email or rng.random() < 0.84 else (None, None)
        email = self._email(booker, TOURIST_DOMAINS if tourist else texts.email_domains) if has_email else None
        return _Customer(
            booker=booker,
            others=others,
            kind=kind,
            tourist=tourist,
            language="en" if tourist else profile.language,  # the dashboard writes to tourists in English
            email=email,
            phone=phone,
            phone_e164=e164,
            preferences=rng.choice(texts.preferences) if rng.random() < 0.22 else None,
            notes=rng.choice(texts.notes) if rng.random() < 0.06 else None,
            marketing_consent=rng.random() < 0.35,
            bookings=bookings,
            customer_id=_uuid4(self.ids),
        )

    def known_customer(self, bookings: int) -> _Customer:
        first, last, phone, email, preference, children = self.profile.known_customer
        locale = self.profile.locale
        booker = self._person(locale, last, age=41, child=False)
        booker.first = first
        kids = []
        for child_first, age in children:
            kid = self._person(locale, last, age=age, child=True)
            kid.first = child_first
            kids.append(kid)
        return _Customer(
            booker=booker, others=kids, kind="family", tourist=False, language=self.profile.language,
            email=email, phone=phone, phone_e164=normalise_phone(phone, self.profile.phone_country),
            preferences=preference, notes=None, marketing_consent=True,
            bookings=bookings, customer_id=_uuid4(self.ids),
        )


class _Random(random.Random):
    """random.Random with one-draw choice, randint and randrange.

    The standard ones go through several Python calls and rejection sampling (~1 µs each); a
    load of 100,000 bookings makes millions of them, and demo data needs no perfect uniformity.
    """

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def randrange(self, start: int, stop: int | None = None) -> int:
        if stop is None:
            start, stop = 0, start
        return start + int(self.random() * (stop - start))


def _uuid4(ids: random.Random) -> uuid.UUID:
    return uuid.UUID(int=ids.getrandbits(128), version=4)


# ---------------------------------------------------------------------------------------------
# Planning bookings: who books what, when, and how it ends

EXPERIENCE_CHOICE = {
    "family": _Choice(("kids", 0.35), ("group", 0.30), ("course", 0.15), ("rental", 0.10), ("private", 0.10)),
    "solo": _Choice(("group", 0.40), ("private", 0.20), ("rental", 0.28), ("course", 0.12)),
    "couple": _Choice(("group", 0.45), ("private", 0.10), ("rental", 0.30), ("course", 0.15)),
    "friends": _Choice(("group", 0.45), ("private", 0.10), ("rental", 0.30), ("course", 0.15)),
}
SOURCES = _Choice(("website", 0.62), ("phone", 0.17), ("walk-in", 0.09), ("partner", 0.12))
LEAD_DAYS = {"website": 14, "phone": 7, "partner": 5}  # mean days between booking and session
PAST_STATUS = _Choice(("completed", 0.80), ("cancelled", 0.12), ("no_show", 0.06), ("confirmed", 0.02))
# In the last three days the staff have not closed every session yet.
RECENT_STATUS = _Choice(("completed", 0.50), ("confirmed", 0.35), ("cancelled", 0.10), ("no_show", 0.05))
FUTURE_STATUS = _Choice(("confirmed", 0.72), ("pending", 0.16), ("cancelled", 0.12))
PAYMENT = {
    "completed": _Choice(("paid", 0.93), ("partial", 0.04), ("unpaid", 0.03)),
    "confirmed": _Choice(("paid", 0.45), ("partial", 0.40), ("unpaid", 0.15)),
    "confirmed-past": _Choice(("paid", 0.80), ("partial", 0.10), ("unpaid", 0.10)),
    "pending": _Choice(("unpaid", 0.85), ("partial", 0.15)),
    "no_show": _Choice(("paid", 0.70), ("partial", 0.20), ("unpaid", 0.10)),
    # A late cancellation keeps its deposit (partial); the rest are refunded or were never paid.
    "cancelled": _Choice(("refunded", 0.60), ("unpaid", 0.30), ("partial", 0.10)),
}
# Five bookings are set to these so that even a small load shows every status and payment status.
SHOWCASE = (("pending", "unpaid", True), ("confirmed", "partial", True), ("completed", "paid", False),
            ("cancelled", "refunded", False), ("no_show", "paid", False))
assert {s for s, _, _ in SHOWCASE} == set(BOOKING_STATUSES)
assert {p for _, p, _ in SHOWCASE} == set(PAYMENT_STATUSES)


@dataclass(slots=True)
class _Plan:
    customer: int  # index into the customer list
    kind: str
    slot: int  # index into the slot list
    starts_at: datetime
    day: date
    people: list[_Person]
    source: str
    submitted_at: datetime
    status: str = ""
    payment: str = ""
    booking_id: uuid.UUID | None = None  # drawn up front: name tokens may be written before the booking


def _participants_for(rng: random.Random, customer: _Customer, kind: str, day: date) -> list[_Person]:
    booker, others = customer.booker, customer.others
    kids = [p for p in others if p.child and 6 <= p.age_on(day) <= 14]
    adults = [p for p in others if not p.child]
    if kind == "kids":
        return kids if len(kids) < 2 or rng.random() < 0.7 else rng.sample(kids, rng.randint(1, len(kids) - 1))
    if kind == "private":
        single = rng.choice([booker, *kids]) if kids else booker
        if others and rng.random() < 0.3:
            second = rng.choice(others)
            return [single, second] if second is not single else [single]
        return [single]
    if kind == "rental":  # boards go to adults and children old enough to paddle out alone
        pool = [booker, *adults, *[k for k in kids if k.age_on(day) >= 10]]
    elif customer.kind == "family" and kids:
        roll = rng.random()
        pool = [booker, *kids] if roll < 0.6 else kids if roll < 0.85 else [booker, *adults, *kids]
        if kind == "course" and rng.random() < 0.5:
            pool = kids
        return pool
    else:
        pool = [booker, *adults]
    if len(pool) > 1 and rng.random() < 0.25:  # not everyone comes every time
        return [booker, *rng.sample(pool[1:], rng.randint(0, len(pool) - 2))]
    return pool


def _plan_bookings(rng: random.Random, customers: list[_Customer], slots: list[_BaseSlot], lanes: int,
                   n: int, now: datetime, tz: ZoneInfo) -> list[_Plan]:
    by_kind: dict[str, list[int]] = {k: [] for k in KINDS}
    for index, slot in enumerate(slots):
        by_kind[slot.kind].append(index)
    cum = {}
    for kind, indexes in by_kind.items():
        total, acc = 0.0, []
        for index in indexes:
            total += slots[index].weight
            acc.append(total)
        cum[kind] = acc
    capacity = [EXPERIENCE_KINDS[s.kind][2] for s in slots for _ in range(lanes)]

    owners = [i for i, c in enumerate(customers) for _ in range(c.bookings)][:n]
    rng.shuffle(owners)

    # The first bookings go where the screens are easiest to get wrong: clock-change days, and the
    # next few sessions (so "upcoming" is never empty).
    forced = []
    local_today = now.astimezone(tz).date()
    for change_day in dst_change_days(local_today - timedelta(days=365), local_today + timedelta(days=183)):
        forced += [i for i in by_kind["group"] if slots[i].day == change_day][:1]
    forced += [i for i in by_kind["group"] if slots[i].starts_at > now][:2]

    def pick(kind: str) -> int:
        acc = cum[kind]
        return by_kind[kind][min(len(acc) - 1, bisect.bisect_right(acc, rng.random() * acc[-1]))]

    plans = []
    for j, owner in enumerate(owners):
        customer = customers[owner]
        if j < len(forced):
            kind, base = "group", forced[j]
        else:
            kind = EXPERIENCE_CHOICE[customer.kind].draw(rng)
            if kind == "kids" and not customer.children:
                kind = "group"
            base = pick(kind)
        for attempt in range(6):  # look for a session with room, then accept a full one
            people = _participants_for(rng, customer, kind, slots[base].day)
            if not people:  # no child of club age that day
                kind = "group"
                base = pick(kind)
                people = _participants_for(rng, customer, kind, slots[base].day)
            flat = base * lanes + rng.randrange(lanes)
            if capacity[flat] >= len(people) or j < len(forced) or attempt == 5:
                break
            base = pick(kind)
        capacity[flat] -= len(people)
        starts_at = slots[base].starts_at
        source = SOURCES.draw(rng)
        if starts_at > now:
            if source == "walk-in":  # nobody walks in for a session that has not happened yet
                source = "website"
            # Already booked, so booked before now (which is before the session).
            extra = min(rng.expovariate(1 / LEAD_DAYS[source]), 120)
            submitted_at = now - timedelta(days=extra, minutes=5)
        elif source == "walk-in":
            submitted_at = starts_at - timedelta(minutes=rng.randint(10, 90))
        else:
            lead = min(rng.expovariate(1 / LEAD_DAYS[source]), 90)
            submitted_at = starts_at - timedelta(days=lead, hours=2)
        plans.append(_Plan(owner, kind, flat, starts_at, slots[base].day, people, source,
                           submitted_at.replace(microsecond=0)))

    for plan in plans:
        if plan.starts_at > now:
            plan.status = FUTURE_STATUS.draw(rng)
            plan.payment = PAYMENT[plan.status].draw(rng)
        else:
            recent = now - plan.starts_at < timedelta(days=3)
            plan.status = (RECENT_STATUS if recent else PAST_STATUS).draw(rng)
            key = "confirmed-past" if plan.status == "confirmed" else plan.status
            plan.payment = PAYMENT[key].draw(rng)
    future = [j for j, p in enumerate(plans) if p.starts_at > now]
    past = [j for j, p in enumerate(plans) if p.starts_at <= now]
    for upcoming in (True, False):
        wanted = [(status, payment) for status, payment, ahead in SHOWCASE if ahead is upcoming]
        pool = future if upcoming else past
        for (status, payment), j in zip(wanted, rng.sample(pool, min(len(pool), len(wanted))), strict=False):
            plans[j].status, plans[j].payment = status, payment
    return plans


def _total_cents(kind: str, price: int, participants: int) -> int:
    if kind == "private":  # the instructor's time is the price; a second person pays half
        return price + (participants - 1) * price // 2
    total = price * participants
    if participants >= 3 and kind in ("group", "kids", "course"):
        total = total * 9 // 10 // 50 * 50  # family and group discount, rounded to 50 cents
    return total


def _money(rng: random.Random, payment: str, total: int) -> tuple[int, int]:
    """(paid, refunded) consistent with the payment status."""
    if payment == "paid":
        return total, 0
    if payment == "unpaid":
        return 0, 0
    deposit = total * rng.choice((30, 50)) // 100 // 100 * 100 or total // 2
    if payment == "partial":
        return deposit, 0
    paid = total if rng.random() < 0.75 else deposit  # refunded: whatever was paid goes back
    return paid, paid


def _answers(rng: random.Random, texts: Texts, fields: list[dict], person: _Person, day: date) -> dict:
    answers = {}
    age = person.age_on(day)
    for f in fields:
        key = f["key"]
        if not f["required"] and rng.random() < 0.4:
            continue
        if key == "level":
            answers[key] = texts.levels[person.level]
        elif key == "swimming":
            answers[key] = texts.swimming[person.swim]
        elif key == "weight_kg":
            answers[key] = 3 * age + person.weight if person.child else person.weight
        elif key == "wetsuit_size":
            if person.child:
                answers[key] = texts.child_sizes[min(4, max(0, (age - 6) // 2))]
            else:
                answers[key] = ADULT_SIZES[min(5, max(0, (person.weight - 45) // 10))]
        elif key == "board_type":
            # Beginners get foam or a mini-mal, the best surfers shortboards; a few always bodyboard.
            if rng.random() < 0.1:
                answers[key] = texts.boards[4]
            else:
                answers[key] = texts.boards[rng.choice(((0, 0, 1), (1, 2, 2), (2, 3, 3))[person.level])]
        else:
            answers[key] = rng.choice(texts.goals)
    return answers


def _reference(rng: random.Random, slug: str, taken: set[str]) -> str:
    """PREFIX-XXXXXX as domain.bookings.new_reference makes it, but drawn from the seeded generator."""
    prefix = "".join(part[0] for part in slug.split("-") if part)[:2].upper() or "HO"
    while True:
        number, letters = rng.randrange(len(REFERENCE_ALPHABET) ** 6), []  # one draw, not six
        for _ in range(6):
            number, digit = divmod(number, len(REFERENCE_ALPHABET))
            letters.append(REFERENCE_ALPHABET[digit])
        reference = prefix + "-" + "".join(letters)
        if reference not in taken:
            taken.add(reference)
            return reference


# ---------------------------------------------------------------------------------------------
# Rows: what add_customer and add_booking write, as plain tuples (domain.customers.customer_row,
# domain.bookings.booking_rows): a Piccolo row object costs ~60 µs, and 100,000 bookings make
# 1.5 million rows. Name tokens are cached per word, since names repeat a lot.

CUSTOMER_COLUMNS = CUSTOMER_ROW
BOOKING_COLUMNS = BOOKING_ROW
PARTICIPANT_COLUMNS = PARTICIPANT_ROW
NAME_TOKEN_COLUMNS = ("provider", "token", "customer", "booking")
# Name tokens travel grouped, one (provider, [tokens], customer, booking) per customer or booking.
GROUPED_NAME_INDEX = "name_token, grouped"
SLOT_COLUMNS = ("provider", "experience", "starts_at", "capacity")


@lru_cache(maxsize=1 << 16)
def _piece_words(piece: str) -> tuple[str, ...]:
    return tuple(name_words(piece))


class NameTokens:
    """One provider's Sealer.name_tokens, cached per word."""

    def __init__(self, scope: Scope):
        self.sealer = scope.sealer
        self._word_tokens: dict[str, frozenset[int]] = {}

    def __call__(self, name: str | None) -> set[int]:
        """The same set as Sealer.name_tokens(name): the tokens of a name are the union of its words'.

        A space separates words whatever else is in the name, so the name is split on spaces first
        and each piece ("Hélène", "Dubois") folded once: names repeat their pieces far more than
        themselves.
        """
        tokens: set[int] = set()
        if not name:
            return tokens
        for piece in name.split(" "):
            for word in _piece_words(piece):
                cached = self._word_tokens.get(word)
                if cached is None:
                    cached = self._word_tokens[word] = frozenset(self.sealer.name_tokens(word))
                tokens |= cached
        return tokens


# ---------------------------------------------------------------------------------------------
# Writing: many rows per statement on the transaction's own connection

CHUNK = 5000  # bookings built and written at a time: memory stays flat for 100,000
SQLITE_CACHE_KIB = 256 * 1024
# From this many bookings on, SQLite loads without its secondary indexes (rebuilt at the end) and
# without foreign-key checks.
REBUILD_INDEXES_FROM = 10_000
INDEXES_REBUILT_FOR = ("slot", "customer", "booking", "participant", "name_token")


async def _insert(tx, engine_type: str, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """executemany on SQLite (no bound-variable limit per row set), COPY on PostgreSQL.

    SQLite gets the very Python values Piccolo would pass (aware datetimes, UUIDs, bools), so
    the sqlite3 adapters Piccolo registers store them exactly as Piccolo does.
    """
    if not rows:
        return
    if table == GROUPED_NAME_INDEX:
        await _insert_name_tokens(tx, engine_type, rows)
        return
    if engine_type == "sqlite":
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        await tx.connection.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)  # noqa: S608
    else:
        await tx.connection.copy_records_to_table(table, records=rows, columns=list(columns))


async def _insert_name_tokens(tx, engine_type: str, groups: list[tuple[int, list[int], str | None, str | None]]):
    """About twenty tokens per customer make name_token the biggest table by far (1.3 million rows for
    100,000 bookings). SQLite gets one row per customer or booking and expands its JSON array of
    tokens itself: executemany binds parameters holding the GIL, json_each runs without it.
    """
    if engine_type == "sqlite":
        await tx.connection.executemany(
            'INSERT INTO "name_token" ("provider", "token", "customer", "booking") '
            "SELECT ?, value, ?, ? FROM json_each(?)",
            [(provider, customer, booking, "[" + ",".join(map(str, tokens)) + "]")
             for provider, tokens, customer, booking in groups],
        )
    else:
        rows = [(provider, t, customer, booking) for provider, tokens, customer, booking in groups for t in tokens]
        await tx.connection.copy_records_to_table("name_token", records=rows, columns=list(NAME_TOKEN_COLUMNS))


async def _drop_indexes(tx) -> list[tuple[str, str]]:
    """Drop the SQLite indexes of the tables the demo fills; return (table, statement to recreate it).

    Building an index once, from sorted keys, is several times faster than keeping a dozen indexes
    up to date row by row (four of them on name_token's 1.3 million rows for 100,000 bookings). It
    all happens inside the load's transaction: other connections only ever see the indexes there,
    and a failed load rolls the drop back.
    """
    names = ", ".join(f"'{t}'" for t in INDEXES_REBUILT_FOR)
    cursor = await tx.connection.execute(
        "SELECT name, tbl_name, sql FROM sqlite_master "  # noqa: S608
        f"WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({names}) ORDER BY name"
    )
    indexes = [(row["name"], row["tbl_name"], row["sql"]) for row in await cursor.fetchall()]
    await cursor.close()
    for name, _, _ in indexes:
        await tx.connection.execute(f'DROP INDEX "{name}"')
    return [(table, sql) for _, table, sql in indexes]


class _UncheckedSQLiteTransaction(SQLiteTransaction):
    """A write transaction whose connection does not check foreign keys, for bulk loads.

    The loader makes every reference itself (the tests run PRAGMA foreign_key_check after a bulk
    load). Checking 1.5 million references one row at a time costs a fifth of the database's work,
    and without the checks name tokens can be written before the rows they point at.
    """

    async def get_connection(self):
        connection = await super().get_connection()
        # Only takes effect outside a transaction, hence here, before BEGIN; Piccolo's own
        # "PRAGMA foreign_keys = 1" before each query is then a no-op until the commit.
        await connection.execute("PRAGMA foreign_keys = OFF")
        return connection


def _write_transaction(engine, *, bulk: bool):
    # SQLite: take the write lock up front rather than fail half-way with "database is locked".
    if engine.engine_type == "sqlite":
        kind = _UncheckedSQLiteTransaction if bulk else SQLiteTransaction
        return kind(engine=engine, transaction_type=TransactionType.immediate)
    return engine.transaction()


@dataclass
class _ProviderPlan:
    """Everything decided before the first row is written: who books what, when, and how it ends."""

    profile: DemoProfile
    rng: random.Random  # continues drawing while the rows are built
    ids: random.Random
    timetable: list[_BaseSlot]
    lanes: int
    customers: list[_Customer]
    plans: list[_Plan]


def _plan_provider(profile: DemoProfile, *, seed: int, bookings: int, today: date) -> _ProviderPlan:
    tz = ZoneInfo(profile.timezone)
    # "Now" is 8:00 on `today`, so a seed gives the same statuses whenever it runs that day.
    now = datetime.combine(today, time(8), tzinfo=tz).astimezone(UTC)
    # String seeds hash with SHA-512: stable across runs and processes, unlike hash(). Ids draw from
    # their own generator so that the data stays the same if ids are ever made differently.
    rng = _Random(f"holaolas-demo:{seed}:{profile.slug}")
    ids = _Random(f"holaolas-demo-ids:{seed}:{profile.slug}")

    # A quarter of the customers come back 2-6 times; the counts add up to exactly `bookings`.
    people = _People(profile, rng, ids, today)
    customers = [people.known_customer(min(3, bookings))] if bookings > 0 else []
    planned = sum(c.bookings for c in customers)
    while planned < bookings:
        count = min(rng.choice(RETURN_COUNTS) if rng.random() < 0.25 else 1, bookings - planned)
        customers.append(people.customer(count))
        planned += count

    timetable = _timetable(profile, today)
    base_capacity = sum(EXPERIENCE_KINDS[s.kind][2] for s in timetable)
    # Big loads run parallel groups (more instructors) rather than overfilling every session.
    lanes = max(1, math.ceil(bookings * 2.2 / (0.4 * base_capacity)))
    plans = _plan_bookings(rng, customers, timetable, lanes, bookings, now, tz)
    for plan in plans:
        plan.booking_id = _uuid4(ids)
        customer = customers[plan.customer]
        if customer.created_at is None or plan.submitted_at < customer.created_at:
            customer.created_at = plan.submitted_at
    return _ProviderPlan(profile, rng, ids, timetable, lanes, customers, plans)


Statement = tuple[str, tuple[str, ...], list[tuple]] | str  # rows for a table, or SQL to run


class _Batches:
    """Turns a provider plan into batches of rows: customers, bookings with participants, name tokens."""

    def __init__(self, plan: _ProviderPlan, scope: Scope, experience_ids: dict[str, int], slot_ids: list[int]):
        self.plan, self.scope = plan, scope
        self.name_tokens_of = NameTokens(scope)
        self.experience_ids, self.slot_ids = experience_ids, slot_ids
        self.fields = {kind: _participant_fields(plan.profile.texts, kind) for kind in KINDS}
        self.references: set[str] = set()

    def customers(self, batch: list[_Customer]) -> list[Statement]:
        customer_rows = [
            customer_row(
                self.scope, name=c.booker.name, email=c.email, phone=c.phone, preferences=c.preferences,
                notes=c.notes, language=c.language, marketing_consent=c.marketing_consent,
                created_at=c.created_at, customer_id=c.customer_id, known_e164=c.phone_e164,
            )
            for c in batch
        ]
        return [("customer", CUSTOMER_COLUMNS, customer_rows)]

    def bookings(self, batch: list[_Plan]) -> list[Statement]:
        plan, rng, ids = self.plan, self.plan.rng, self.plan.ids
        profile, texts = plan.profile, plan.profile.texts
        colon = " : " if profile.language == "fr" else ": "  # French puts a space before a colon
        new_bookings, participant_rows = [], []
        for booking in batch:
            customer, kind, day = plan.customers[booking.customer], booking.kind, booking.day
            participants = [
                ParticipantInput(p.name, p.age_on(day) if p.show_age else None,
                                 _answers(rng, texts, self.fields[kind], p, day))
                for p in booking.people
            ]
            total = _total_cents(kind, profile.prices[kind], len(participants))
            paid, refunded = _money(rng, booking.payment, total)
            comments = special_needs = None
            if rng.random() < 0.2:
                comments = rng.choice(TOURIST_COMMENTS if customer.tourist else texts.comments)
            shaky = any(p.swim == 2 for p in booking.people)
            if rng.random() < (0.5 if shaky else 0.1):
                need = rng.choice(TOURIST_SPECIAL_NEEDS if customer.tourist else texts.special_needs)
                who = rng.choice(booking.people)
                special_needs = need if len(booking.people) == 1 else f"{who.first}{colon}{need}"
            row, prows = booking_rows(
                self.scope, customer_id=customer.customer_id, slot_id=self.slot_ids[booking.slot],
                experience_id=self.experience_ids[kind], starts_at=booking.starts_at,
                reference=_reference(rng, profile.slug, self.references), participants=participants,
                total_cents=total, paid_cents=paid, refunded_cents=refunded, payment_status=booking.payment,
                status=booking.status, comments=comments, special_needs=special_needs,
                submitted_at=booking.submitted_at, source=booking.source, booking_id=booking.booking_id,
                participant_ids=[_uuid4(ids) for _ in participants],
            )
            new_bookings.append(row)
            participant_rows += prows
        return [("booking", BOOKING_COLUMNS, new_bookings), ("participant", PARTICIPANT_COLUMNS, participant_rows)]

    def name_tokens(self, customers: list[_Customer], bookings: list[_Plan]) -> list[Statement]:
        """The name_token rows build_customer and build_booking would give, grouped by owner.

        They depend on names only, so they can be written before (bulk loads) or after the rows
        they point at.
        """
        name_tokens, provider_id, groups = self.name_tokens_of, self.scope.provider_id, []
        for c in customers:
            tokens = name_tokens(c.booker.name)
            if tokens:  # the id as text, which both drivers store for a UUID: made once, not once per token
                groups.append((provider_id, list(tokens), str(c.customer_id), None))
        for booking in bookings:
            booker = self.plan.customers[booking.customer].booker
            tokens = booking_name_tokens(name_tokens, (p.name for p in booking.people), name_tokens(booker.name))
            if tokens:
                groups.append((provider_id, list(tokens), None, str(booking.booking_id)))
        return [(GROUPED_NAME_INDEX, NAME_TOKEN_COLUMNS, groups)]


MAX_PENDING_WRITES = 32  # batches built ahead of the database (~5 MB each): enough to cover an index build


async def _write_pipelined(tx, engine_type: str, jobs: list[Callable[[], list[Statement]]]) -> Counter:
    """Build each batch in a worker thread while the database writes the ones before.

    The jobs run one after another, in order, so the seeded generators they share draw the same
    numbers as a plain loop would, and the writes follow in the same order. SQLite (in aiosqlite's
    thread, without the GIL while it steps) and PostgreSQL (in its own process) work while Python
    seals the next batches.
    """
    written: Counter = Counter()

    async def write(previous: asyncio.Future | None, statements: list[Statement]) -> None:
        if previous is not None:
            await previous
        for statement in statements:
            if isinstance(statement, str):
                await tx.connection.execute(statement)
                continue
            table, columns, rows = statement
            await _insert(tx, engine_type, table, columns, rows)
            if table == GROUPED_NAME_INDEX:
                written["name_token"] += sum(len(group[1]) for group in rows)
            else:
                written[table] += len(rows)

    pending: deque[asyncio.Future] = deque()
    try:
        for job in jobs:
            if len(pending) >= MAX_PENDING_WRITES:
                await pending.popleft()
            if pending and pending[-1].done():
                pending[-1].result()  # a write failed: stop building
            statements = await asyncio.to_thread(job)
            pending.append(asyncio.ensure_future(write(pending[-1] if pending else None, statements)))
        while pending:
            await pending.popleft()
    finally:
        # On failure, let the writes already queued end before the transaction rolls back.
        await asyncio.gather(*pending, return_exceptions=True)
    return written


async def _load_provider(vault: Vault, profile: DemoProfile, *, seed: int, bookings: int, today: date | None) -> dict:
    engine = Booking._meta.db
    if await Provider.exists().where(Provider.slug == profile.slug):
        raise DemoError(f"A provider with slug {profile.slug!r} already exists; the demo loads into a fresh database.")
    today = today or datetime.now(ZoneInfo(profile.timezone)).date()
    started = perf_counter()
    plan = await asyncio.to_thread(_plan_provider, profile, seed=seed, bookings=bookings, today=today)
    log.debug("%s: planned %d bookings for %d customers in %.1f s", profile.slug, len(plan.plans),
             len(plan.customers), perf_counter() - started)

    # Inside a caller's transaction the connection is theirs, foreign keys checked: no bulk tricks.
    bulk = (engine.engine_type == "sqlite" and bookings >= REBUILD_INDEXES_FROM
            and engine.current_transaction.get() is None)
    async with _write_transaction(engine, bulk=bulk) as tx:
        if engine.engine_type == "sqlite":
            # The default 2 MB page cache thrashes on a million index entries; this connection
            # closes with the transaction, so the setting goes with it.
            await tx.connection.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        provider_id = await create_provider(
            vault, slug=profile.slug, name=profile.name, contact_email=profile.contact_email,
            whatsapp=profile.whatsapp, timezone_name=profile.timezone, language=profile.language,
            currency=profile.currency,
        )
        scope = await load_scope(vault, provider_id=provider_id)
        experience_ids = {}
        for position, kind in enumerate(KINDS):
            _, minutes, capacity = EXPERIENCE_KINDS[kind]
            row = Experience(provider=provider_id, name=profile.texts.experience_names[kind], kind=kind,
                             duration_minutes=minutes, price_cents=profile.prices[kind], capacity=capacity,
                             participant_fields=json.dumps(_participant_fields(profile.texts, kind),
                                                           ensure_ascii=False),
                             position=position)
            experience_ids[kind] = (await Experience.insert(row))[0]["id"]

        dropped = await _drop_indexes(tx) if bulk else []

        slot_rows = [(provider_id, experience_ids[s.kind], s.starts_at, EXPERIENCE_KINDS[s.kind][2])
                     for s in plan.timetable for _ in range(plan.lanes)]
        await _insert(tx, engine.engine_type, "slot", SLOT_COLUMNS, slot_rows)
        # Ids follow insertion order: this provider is new and only this transaction writes its slots.
        slot_ids = [r["id"] for r in await Slot.select(Slot.id).where(Slot.provider == provider_id).order_by(Slot.id)]
        if len(slot_ids) != len(slot_rows):
            raise DemoError(f"expected {len(slot_rows)} slots, found {len(slot_ids)}")

        batches = _Batches(plan, scope, experience_ids, slot_ids)
        customer_chunks = [plan.customers[i:i + CHUNK] for i in range(0, len(plan.customers), CHUNK)]
        booking_chunks = [plan.plans[i:i + CHUNK] for i in range(0, len(plan.plans), CHUNK)]
        row_jobs = [partial(batches.customers, chunk) for chunk in customer_chunks]
        row_jobs += [partial(batches.bookings, chunk) for chunk in booking_chunks]
        token_jobs = [partial(batches.name_tokens, chunk, []) for chunk in customer_chunks]
        token_jobs += [partial(batches.name_tokens, [], chunk) for chunk in booking_chunks]
        if bulk:
            # Without foreign-key checks the tokens can go first: their indexes, the slowest to
            # build, then build in SQLite's thread while Python seals customers and bookings.
            token_indexes = [sql for table, sql in dropped if table == "name_token"]
            jobs = [*token_jobs, partial(list, token_indexes), *row_jobs]
        else:
            jobs = [*row_jobs, *token_jobs]
        written = await _write_pipelined(tx, engine.engine_type, jobs)
        log.debug("%s: wrote %s in %.1f s", profile.slug, dict(written), perf_counter() - started)

        for table, statement in dropped:
            if not bulk or table != "name_token":
                await tx.connection.execute(statement)
        if dropped:
            log.debug("%s: rebuilt %d indexes at %.1f s", profile.slug, len(dropped), perf_counter() - started)
    log.info("%s: %d bookings of %d customers loaded in %.1f s", profile.slug, written["booking"],
             written["customer"], perf_counter() - started)
    return {
        "provider_id": provider_id,
        "experiences": len(experience_ids),
        "slots": len(slot_ids),
        "customers": written["customer"],
        "bookings": written["booking"],
        "participants": written["participant"],
        "name_tokens": written["name_token"],
    }


# ---------------------------------------------------------------------------------------------
# Public API


async def load_demo(vault: Vault, *, seed: int = 7, bookings_per_provider: int = 1500, today: date | None = None,
                    providers: tuple[str, ...] = ("les-vagues", "ola-brava")) -> dict[str, dict[str, int]]:
    """Create the demo providers with their experiences, slots, customers and bookings.

    The same seed and `today` give the same rows: names, contacts, dates, amounts, statuses,
    references and ids; only the ciphertexts differ (random nonces, a new data key per provider).
    `today` defaults to the current date in the provider's time zone. Returns, per slug, how many
    rows of each kind were written; raises DemoError if a provider with that slug exists.
    """
    counts = {}
    for slug in providers:
        counts[slug] = await _load_provider(vault, _profile(slug), seed=seed, bookings=bookings_per_provider,
                                            today=today)
    return counts


async def load_bulk(vault: Vault, *, slug: str = "les-vagues", bookings: int = 10_000, seed: int = 7,
                    today: date | None = None) -> dict[str, int]:
    """One provider with `bookings` bookings, for benchmarks; an unknown slug gets Les Vagues' profile."""
    return await _load_provider(vault, _profile(slug), seed=seed, bookings=bookings, today=today)
