"""Every word the chat widget shows, translated on the server and fetched by the widget for ONE
language (`GET /api/v1/widget/strings?lang=es`), so `widget.js` stays one small file.

English is built into `static/widget.js` (its `EN` table, the same keys and texts: a test holds
them equal), so an English page makes no extra request. Placeholders are `{name}`; the widget
fills them in. Translations live in locale/<lang>/LC_MESSAGES/django.po like every other string.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

STRINGS = {
    # launcher and panel
    "chat": _("Chat with us"),
    "open": _("Open chat with us"),
    "close": _("Close chat"),
    # pre-chat form
    "start_label": _("Start a chat"),
    "hi": _("Hi! Tell us who you are and what you need."),
    "name": _("Name"),
    "email": _("Email"),
    "question": _("Your question"),
    "start": _("Start chat"),
    # the chat
    "messages": _("Messages"),
    "send_label": _("Send a message"),
    "type": _("Type your message"),
    "write": _("Write a message…"),
    "attach": _("Attach a photo or PDF"),
    "send": _("Send"),
    "no_one": _("No one online? Leave a message"),
    "progress": _("Upload progress"),
    "types": _("You can send photos and PDFs."),
    "upload_failed": _("Upload failed"),
    "no_file": _("File not available"),
    "typing": _("{name} is typing…"),
    "expired": _("Your chat session expired. Please start a new chat."),
    "reconnecting": _("Reconnecting…"),
    # waiting for an agent
    "waiting": _("Waiting for an agent…"),
    "shortly": _("Someone will be with you shortly."),
    "minute": _("Usually answered within a minute or two."),
    "minutes": _("Usually answered in about {minutes} minutes."),
    "meanwhile": _("You can keep writing meanwhile."),
    # proving an email with a code
    "confirm_label": _("Confirm your email"),
    "confirm_note": _("Confirm your email so we can look up your orders."),
    "email_code": _("Email me a code"),
    "code": _("Code from the email"),
    "confirm": _("Confirm"),
    "code_sent": _("We emailed a code to {to}."),
    # rating the chat
    "rate_label": _("Rate this chat"),
    "how": _("How did we do? 1 is poor, 5 is great."),
    "rating": _("Rating"),
    "comment": _("Comment (optional)"),
    "send_rating": _("Send rating"),
    "again": _("Start a new chat"),
    "choose": _("Choose a rating from 1 to 5."),
    "rated": _("Thank you! You rated this chat {rating} of 5. You can change it for 7 days."),
    # offline form
    "leave_label": _("Leave a message"),
    "offline": _("No one is online right now. Leave a message and we will answer by email."),
    "message": _("Message"),
    "send_message": _("Send message"),
    "thanks": _("Thanks! We got your message and will answer by email at {email}."),
    # business hours
    "online": _("We're online."),
    "away": _("We're away."),
    "away_back": _("We're away, back at {when} (your time)."),
    "away_leave": _("Leave a message and we will answer by email."),
    # the verified visitor's orders and earlier conversations
    "orders": _("My orders"),
    "earlier": _("Earlier conversations"),
    "back": _("← Back"),
    "no_orders": _("No orders yet."),
    "order": _("Order {id}"),
    "shipment": _("Shipment"),
    "due": _("due {date}"),
    "track": _("Track {tracking}"),
    "ask": _("Ask about this order"),
    "about_order": _("About order {id}: "),
    "nothing": _("Nothing yet."),
    "chat_of": _("Chat of {date}"),
    "write_again": _("Write again to reopen"),
    "reopen": _("Reopen"),
    "reopened": _("Reopened: we will answer by email ({status})."),
    # order and shipment statuses (the shop's codes; an unknown code is shown as sent)
    "st_pending": _("Pending"),
    "st_paid": _("Paid"),
    "st_payment_failed": _("Payment failed"),
    "st_processing": _("Being prepared"),
    "st_shipped": _("Shipped"),
    "st_in_transit": _("On its way"),
    "st_delivered": _("Delivered"),
    "st_late": _("Running late"),
    "st_returned": _("Returned"),
    "st_refunded": _("Refunded"),
    "st_cancelled": _("Cancelled"),
    # help center suggestions
    "suggested": _("Suggested articles"),
    "may_help": _("These articles may help:"),
    "answered": _("This answered my question"),
    "glad": _("Glad it helped!"),
    # errors (the server's English detail is shown in English; other languages get these)
    "failed": _("Something went wrong. Please try again."),
    "e_rate_limited": _("Too many tries. Please wait a moment and try again."),
    "e_invalid": _("Please check what you entered and try again."),
    "e_chat_ended": _("This chat has ended."),
    "e_wrong_code": _("That code is not right. Please try again."),
    "e_too_many_attempts": _("Too many wrong codes. Please ask for a new one."),
    "e_empty_body": _("Please write a message."),
    "e_no_email": _("Give your email address first."),
}


def strings(language: str) -> dict[str, str]:
    """The widget's texts in `language` (one of settings.LANGUAGES)."""
    with translation.override(language or settings.LANGUAGE_CODE):
        return {key: str(text) for key, text in STRINGS.items()}


def widget_languages() -> list[str]:
    """The languages the widget can load (English is built in)."""
    return [code for code, _name in settings.LANGUAGES]
