"""The customers' portal (issue 14, item 4): what a customer does without logging in, through the
signed one-time link support handed them (``link=True``: no bearer token; the link travels as
``X-Portal-Link`` and the support service checks it), and the routes staff hand links out with
(200: a link is signed, not stored -- only its use is)."""
from __future__ import annotations

from gateway.routes.model import Route, body, link

PORTAL = "/api/v1/portal"
_REFUSALS = ("A link is refused with problem+json: 401 `reason` missing or forged (not signed by us, altered); "
             "403 wrong_purpose (a genuine link for something else); 410 expired (`expired_at`) or used "
             "(`used_at`: a write uses its link up; of two concurrent uses one wins, the other is 410).")

ROUTES = (
    Route("GET", f"{PORTAL}/ticket", "support", "portal_ticket",
          "The customer's ticket and its public comments (a reply or survey link; reading does not use it up)",
          "portal", (link(),), link=True, response="support.PortalTicket", description=_REFUSALS),
    Route("POST", f"{PORTAL}/ticket/replies", "support", "portal_reply",
          "The customer replies to their ticket (a reply link): a public comment by their contact", "portal",
          (link(), body()), link=True, status=201, location=f"{PORTAL}/ticket", request="support.PortalReply",
          response="support.PortalReplyResult", description=(
              "A ticket waiting on the customer resumes (`in_progress`: its SLA clocks run on); a resolved or "
              "closed one takes no reply (409 naming its state). The answer carries the next reply's link. "
              + _REFUSALS)),
    Route("POST", f"{PORTAL}/tickets", "support", "portal_open_ticket",
          "The customer opens a ticket (an open-ticket link, for their customer and contact)", "portal",
          (link(), body()), link=True, status=201, location=f"{PORTAL}/ticket", request="support.PortalTicketOpen",
          response="support.PortalTicketOpened", description=(
              "Channel `portal`, priority normal, routed in the link's group like any ticket. The answer "
              "carries a reply link of the new ticket. " + _REFUSALS)),
    Route("POST", f"{PORTAL}/survey", "support", "portal_survey",
          "The customer answers the satisfaction survey (CSAT 1-5, a comment, NPS 0-10) of a resolved ticket",
          "portal", (link(), body()), link=True, status=201, location=f"{PORTAL}/ticket",
          request="support.SurveySubmit", response="support.Survey", description=(
              "A survey link (on `ticket_resolved`/`ticket_closed`, or from staff). Once per resolution: "
              "answered already is 409; a ticket not resolved or closed is 409 naming its state; "
              "`survey_submitted` is raised. " + _REFUSALS)),
    Route("POST", "/api/v1/tickets/<ticket_id>/portal-links", "support", "create_ticket_link",
          "Hand the ticket's customer a signed one-time link: to reply, or to answer the survey", "support",
          (body(),), request="support.TicketLinkCreate", response="support.PortalLink", description=(
              "Who may change the ticket. `survey`: a resolved or closed ticket only (409 naming its state). "
              "Give the customer `url` (the token follows `#`).")),
    Route("POST", "/api/v1/support/portal-links", "support", "create_portal_link",
          "Hand a customer a signed one-time link to open a ticket (for a contact, into a group)", "support",
          (body(),), request="support.PortalLinkCreate", response="support.PortalLink",
          description="Admins, the agents and leads of any support group, and the customer's owner (else 403)."),
)
