"""What the booking actions say: every French sentence and button, in one place."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from actions.booking_store import Booking, Option, Site
from actions.datetime_fr import (
    WEEKDAYS,
    format_day,
    format_duration,
    format_span,
    format_time,
    to_paris,
)
from actions.geo import french_distance
from actions.mobility import Trip
from actions.room_help import room_howto

Button = dict[str, str]

CONFIRM_BUTTONS = [
    {"title": "Oui, je confirme", "payload": "/affirm"},
    {"title": "Non", "payload": "/deny"},
]
UNAVAILABLE = (
    "Le service de réservation de salles ne répond pas pour le moment, désolé. "
    "Réessayez dans quelques minutes ou contactez la logistique de votre site."
)
ASK_SITE = "Sur quel site voulez-vous la salle ?"
ASK_VEHICLE_SITE = "De quel site partez-vous ? La voiture y sera à prendre."
ANSWER_YES_OR_NO = "Je n'ai pas compris votre réponse : répondez « oui » ou « non »."
ASK_NEW_TIME = "Je n'ai pas compris l'heure. Dites par exemple « à 15h » ou « jeudi à 10h »."
LATER_DAY_WORD = "suivant"


def people(count: int) -> str:
    return f"{count} personne{'s' if count > 1 else ''}"


def site_button(site_name: str) -> Button:
    # Built in code, never in a domain response: Rasa would read the braces as a template.
    return {"title": site_name, "payload": f'/inform{{"site":"{site_name}"}}'}


def site_buttons(sites: Iterable[Site]) -> list[Button]:
    return [{**site_button(s.name), "title": s.label or s.name} for s in sites]


def day_buttons(days: Iterable[date]) -> list[Button]:
    """A button per day; the payload is the date as an agent would type it."""
    return [
        {"title": format_day(d).removesuffix(f" {d.year}"), "payload": f"le {d:%d/%m/%Y}"}
        for d in days
    ]


ENERGY_WORDS = {
    "electric": "électrique",
    "diesel": "gazole",
    "petrol": "essence",
    "hybrid": "hybride",
    "average": "thermique",
}


def booking_line(booking: Booking) -> str:
    if booking.kind == "vehicle":
        towards = f" pour {booking.destination}" if booking.destination else ""
        return (
            f"{format_span(booking.start_utc, booking.end_utc)} : voiture {booking.room_name} "
            f"au départ de {booking.site}{towards}"
        )
    return (
        f"{format_span(booking.start_utc, booking.end_utc)} : {booking.room_name} "
        f"à {booking.site} ({booking.attendees} pers.)"
    )


def listed_booking(booking: Booking) -> str:
    """A line of "mes réservations": the booking and its visio link, or its keys."""
    if booking.kind == "vehicle":
        return f"- {booking_line(booking)}\n  clés : {booking.key_place}"
    return f"- {booking_line(booking)}\n  visio : {booking.visio_url}"


def option_text(option: Option) -> str:
    start = to_paris(option.start_utc)
    return f"{format_day(start.date())} à {format_time(start)}, {option.room_name}"


def alternative_buttons(options: Sequence[Option]) -> list[Button]:
    return [
        {"title": option_text(o), "payload": f'/choose_option{{"option":"{o.token()}"}}'}
        for o in options
    ]


def booking_buttons(bookings: Sequence[Booking]) -> list[Button]:
    return [
        {"title": booking_line(b), "payload": f'/choose_option{{"option":"booking:{b.key}"}}'}
        for b in bookings
    ]


def overlap_warning(bookings: Sequence[Booking]) -> str:
    """ "Attention : vous avez déjà …" for the agent's bookings at the same time."""
    if not bookings:
        return ""
    listed = " ; ".join(booking_line(b) for b in bookings)
    return f"\nAttention : vous avez déjà une réservation sur ce créneau ({listed})."


def proposal(
    option: Option,
    site: Site,
    attendees: int,
    overlaps: Sequence[Booking],
    destination: str = "",
) -> str:
    if option.kind == "vehicle":
        vehicle = site.room(option.room_id)
        energy = ENERGY_WORDS.get(getattr(vehicle, "energy", ""), "")
        towards = f" pour aller à {destination}" if destination else ""
        return (
            f"La voiture « {option.room_name} »{f' ({energy})' if energy else ''} du site de "
            f"{site.name} est libre {format_span(option.start_utc, option.end_utc)}{towards}, "
            f"pour {people(attendees)}. Clés : {getattr(vehicle, 'key_place', '')}."
            f"{overlap_warning(overlaps)}\nJe la réserve ?"
        )
    return (
        f"« {option.room_name} » ({site.label}) est libre "
        f"{format_span(option.start_utc, option.end_utc)}, pour {people(attendees)}."
        f"{overlap_warning(overlaps)}\nJe la réserve ?"
    )


def number_fr(value: float) -> str:
    """ "16,4", "150" (French decimal comma, no useless ",0")."""
    text = f"{value:.1f}".removesuffix(".0")
    return text.replace(".", ",")


def trip_cost(trip: Trip) -> str:
    """What the trip costs, with the emission factor and its source."""
    energy = ENERGY_WORDS.get(trip.energy, trip.energy)
    return (
        f"Ce déplacement à {trip.destination} représente environ {round(trip.km)} km "
        f"aller-retour, {format_duration(trip.minutes)} de route et {number_fr(trip.co2_kg)} kg "
        f"de CO2 (voiture {energy} : {number_fr(trip.factor * 1000)} g CO2e/km, "
        f"{trip.factor_source}, {trip.factor_date})."
    )


def visio_instead(trip: Trip, visio: Option, home: Site) -> str:
    """The visio room offered instead of the trip; the agent chooses."""
    return (
        f"\n{trip_cost(trip)}\nPlutôt qu'un déplacement : « {visio.room_name} » est libre "
        f"sur votre site ({home.name}) sur le même créneau. Répondez « visio » pour la "
        "réserver à la place, « oui » pour garder ce que je propose, « non » pour ne rien "
        "réserver."
    )


def visio_button(trip: dict[str, str]) -> Button:
    return {
        "title": f"Plutôt la visio à {trip['home']}",
        "payload": f'/choose_option{{"option":"{trip["visio"]}"}}',
    }


def choice_question(
    option: Option,
    action: str,
    attendees: int | None,
    booking: Booking | None,
    overlaps: Sequence[Booking],
) -> str:
    span = format_span(option.start_utc, option.end_utc)
    if action == "move" and booking is not None:
        other_room = option.room_id != booking.room_id
        text = f"Je déplace votre réservation de « {booking.room_name} » au {span}" + (
            f", dans « {option.room_name} »" if other_room else ""
        )
    elif option.kind == "vehicle":
        count = f", pour {people(attendees)}" if attendees else ""
        text = f"Je réserve la voiture « {option.room_name} » de {option.site}, {span}{count}"
    else:
        count = f", pour {people(attendees)}" if attendees else ""
        text = f"Je réserve « {option.room_name} » à {option.site}, {span}{count}"
    return f"{text}.{overlap_warning(overlaps)}\nJe confirme ?"


def cancel_question(booking: Booking) -> str:
    return f"J'annule votre réservation du {booking_line(booking)} ?"


def ask_new_time(booking: Booking) -> str:
    return (
        f"Votre réservation : {booking_line(booking)}. À quelle heure voulez-vous "
        "la déplacer ? Vous pouvez aussi donner un autre jour, par exemple "
        "« jeudi à 10h »."
    )


def which_booking(action: str) -> str:
    verb = "annuler" if action == "cancel" else "déplacer"
    return f"Quelle réservation voulez-vous {verb} ?"


def booked(booking: Booking, ics_link: str) -> str:
    if booking.kind == "vehicle":
        towards = f" pour {booking.destination}" if booking.destination else ""
        return (
            f"C'est réservé : la voiture « {booking.room_name} », site de {booking.site}, "
            f"{format_span(booking.start_utc, booking.end_utc)}{towards}.\n"
            f"Clés : {booking.key_place}.\n"
            f"Pour votre agenda (.ics) : {ics_link}"
        )
    lines = [
        f"C'est réservé : « {booking.room_name} », {booking.site_label}, "
        f"{format_span(booking.start_utc, booking.end_utc)}, pour {people(booking.attendees)}.",
        f"Lien de la visio : {booking.visio_url}",
        f"Invitation pour votre agenda (.ics) : {ics_link}",
    ]
    howto = room_howto(booking.room_id)  # the room's how-to (data/internal/rooms_help.yml)
    if howto:
        lines.append(f"\n{howto}")
    return "\n".join(lines)


def shared_question(options: Sequence[Option]) -> str:
    first = options[0]
    rooms = " ; ".join(f"{o.site} : « {o.room_name} »" for o in options)
    return (
        f"Réunion partagée {format_span(first.start_utc, first.end_utc)}, une salle visio "
        f"par site — {rooms}. Un seul lien de visio pour tous.\nJe réserve les "
        f"{len(options)} salles ?"
    )


def shared_booked(bookings: Sequence[Booking], ics_links: Sequence[str]) -> str:
    first = bookings[0]
    rooms = "\n".join(
        f"- {b.site} : « {b.room_name} » — invitation (.ics) : {link}"
        for b, link in zip(bookings, ics_links, strict=True)
    )
    return (
        f"C'est réservé : réunion partagée {format_span(first.start_utc, first.end_utc)}.\n"
        f"{rooms}\nLien de la visio, le même pour tous les sites : {first.visio_url}"
    )


def shared_taken(site_names: Sequence[str], span: str) -> str:
    where = ", ".join(site_names)
    return (
        f"Je ne peux pas réserver cette réunion partagée : aucune salle visio n'est libre "
        f"{span} à {where}. Je n'ai rien réservé, sur aucun site : proposez-moi un autre "
        "créneau."
    )


SHARED_HOW = (
    "Pour une réunion partagée, donnez-moi en une phrase au moins deux sites, le jour, "
    "l'heure et la durée, par exemple : « visio entre Brest, Quimper et Morlaix jeudi à "
    "14h pendant 1h »."
)


def moved(booking: Booking, ics_link: str) -> str:
    if booking.kind == "vehicle":
        return (
            f"C'est fait : votre réservation est maintenant le "
            f"{format_span(booking.start_utc, booking.end_utc)}, voiture « {booking.room_name} » "
            f"de {booking.site}.\nInvitation mise à jour (.ics) : {ics_link}"
        )
    return (
        f"C'est fait : votre réservation est maintenant le "
        f"{format_span(booking.start_utc, booking.end_utc)}, « {booking.room_name} » "
        f"à {booking.site}. Le lien de la visio ne change pas : {booking.visio_url}\n"
        f"Invitation mise à jour (.ics) : {ics_link}"
    )


def cancelled(booking: Booking, ics_link: str) -> str:
    freed = "La voiture est libérée." if booking.kind == "vehicle" else "La salle est libérée."
    return (
        f"C'est annulé : {booking_line(booking)}. {freed}\n"
        f"Pour retirer la réunion de votre agenda (.ics) : {ics_link}"
    )


def taken(site: Site | None, any_alternative: bool, kind: str = "room") -> str:
    if any_alternative:
        return "Ce créneau est déjà pris. Voici d'autres possibilités :"
    where = f" à {site.name}" if site else ""
    what = "voiture" if kind == "vehicle" else "salle"
    return (
        f"Ce créneau est déjà pris et je ne trouve pas d'autre {what} libre{where} "
        "ces prochains jours. Essayez un autre jour ou un autre site."
    )


def not_offered(action: str) -> str:
    done = "rien changé" if action == "move" else "rien réservé"
    return (
        f"Ce créneau ne fait pas partie de ceux que je vous ai proposés : je n'ai {done}. "
        "Choisissez l'un des boutons ou demandez-moi un autre horaire."
    )


def nothing_saved(problem: str, action: str) -> str:
    done = "rien changé" if action == "move" else "rien réservé"
    return f"{problem} Je n'ai {done} : demandez-moi un autre créneau."


def next_open_days(reason: str) -> str:
    return f"{reason} Voici les prochains jours d'ouverture :"


def passed_day(day: date, next_year: date | None) -> str:
    said = format_day(day).removesuffix(f" {day.year}")
    if next_year is None:
        return f"Le {said} est déjà passé. Pour quel jour voulez-vous la salle ?"
    return f"Le {said} est déjà passé cette année. Vouliez-vous dire le {format_day(next_year)} ?"


def later_day_note(day: date, later: date) -> str:
    return (
        f"Je compte le {format_day(day)}. Si vous pensiez au {WEEKDAYS[later.weekday()]} "
        f"suivant ({format_day(later)}), répondez « {LATER_DAY_WORD} »."
    )


def later_day_button(later: date) -> Button:
    return {"title": f"Non, le {format_day(later)}", "payload": LATER_DAY_WORD}


def day_noted(day: date) -> str:
    return f"C'est noté : le {format_day(day)}."


def unknown_site(name: str, nearest: Sequence[tuple[Site, float]]) -> str:
    if not nearest:
        return f"Je ne connais pas de salle de visioconférence à {name}. {ASK_SITE}"
    listed = ", ".join(f"{site.name} ({french_distance(km)})" for site, km in nearest)
    return (
        f"Il n'y a pas de salle de visioconférence à {name}. "
        f"Les sites les plus proches qui en ont : {listed}."
    )


def did_you_mean(said: str, names: Sequence[str]) -> str:
    return f"Je ne connais pas de site « {said} ». Vouliez-vous dire : {' ou '.join(names)} ?"
