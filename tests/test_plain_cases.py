"""Plain turn-level cases from the detection issue: each text must carry (or not carry) one signal.

One case is (signal, language, text, expected). The matcher is the default pack's, models
included, so a case fails whether a pattern or a model gets it wrong. Cases follow
../shared/LABELING.md and the conventions of ../shared/devset/REAL_TWITTER_EN.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from servicecheck.policy.loader import load_policies
from servicecheck.signals import SignalMatcher

PACK = Path(__file__).resolve().parents[1] / "policies" / "service-standards"

Y, N = True, False
CASES: list[tuple[str, str, str, bool]] = [
    # ---------------------------------------------------------------- deflection: cold referrals
    ("deflection", "en", "That's the sales department, not us.", Y),
    ("deflection", "en", "For that you'd need to call our claims line.", Y),
    ("deflection", "en", "Changes to reservations are made by the bookings team, please call them on 0300 123 456.", Y),
    ("deflection", "en", "You'll have to take it back to the shop where you bought it.", Y),
    ("deflection", "en", "Our specialists on the other line can help you with that.", Y),
    ("deflection", "en", "Please contact our phone support regarding the service options.", Y),
    ("deflection", "en", "Please reach out to our billing team for assistance.", Y),
    ("deflection", "en", "You can contact our Support team here: https://example.com/support", Y),
    ("deflection", "en", "Please contact the seller.", Y),
    ("deflection", "en", "You can find all of our phone numbers here: https://example.com/contact-us", Y),
    ("deflection", "en", "Please visit an Apple Store or an Authorised Service Provider.", Y),
    ("deflection", "en", "Repairs after 30 days are handled directly by the manufacturer.", Y),
    ("deflection", "en", "Opening hours are set by the airport, so that would be one for them to answer.", Y),
    ("deflection", "en", "Lost property goes to the station team, they're the best people to ask.", Y),
    ("deflection", "en", "That's something your bank handles, so please check with them.", Y),
    ("refusal", "en", "We don't share details of our fraud checks.", Y),
    ("refusal", "en", "Cross-save isn't something we offer at the moment.", Y),
    ("refusal", "en", "We've reviewed it and the decision stands.", Y),
    ("justification", "en", "We aren't able to waive the charge as you're still in your minimum term.", Y),
    ("justification", "en", "We can't share login locations for privacy reasons.", Y),
    ("justification", "en", "We don't offer that as an add-on.", N),
    ("empathy", "en", "That sounds really scary, and I completely get why you're shaken.", Y),
    ("empathy", "en", "I'd be fed up too.", Y),
    ("incivility", "en", "you bloodsucking leeches", Y),
    ("incivility", "en", "so you just steal now?", Y),
    ("incivility", "en", "Got it, cheers.", N),
    ("incivility", "en", "Perfect.", N),
    ("incivility", "en", "cycled home through this fucking storm and my order is missing the main", N),
    ("deflection", "en", "Please fill in the online claim form.", Y),
    ("deflection", "en", "Please fill in this form so I can process your refund.", N),
    ("refusal", "en", "The order can no longer be changed.", Y),
    ("refusal", "en", "Custom items can't be returned or exchanged.", Y),
    ("refusal", "en", "We don't send samples on their own.", Y),
    ("empathy", "en", "You shouldn't have had to chase us for this.", Y),
    ("empathy", "en", "You're definitely not the only one.", Y),
    ("deflection", "en", "You can pop into any of our branches and they will sort it.", Y),
    ("deflection", "en", "We recommend sending us feedback from the app so the team gets your report.", Y),
    ("deflection", "fr", "Voyez avec le transporteur.", Y),
    ("deflection", "fr", "Présentez-vous au magasin le plus proche avec votre facture.", Y),
    ("deflection", "fr", "Il s'agit d'un vendeur tiers, ouvrez un litige avec lui directement.", Y),
    ("deflection", "fr", "Les pannes sont prises en charge directement par le constructeur.", Y),
    ("deflection", "fr", "C'est à votre assureur qu'il faut adresser la demande.", Y),
    ("deflection", "fr", "Remplissez le formulaire de réclamation en ligne.", Y),
    ("refusal", "fr", "La commande ne peut plus être modifiée.", Y),
    ("refusal", "fr", "Les articles sur mesure ne sont ni repris ni échangés.", Y),
    ("refusal", "fr", "Nous n'envoyons pas d'échantillons par courrier.", Y),
    ("refusal", "fr", "Impossible pour celle-ci, elle est déjà partie.", Y),
    ("justification", "fr", "Votre formule ne comprend pas la garantie bris de glace.", Y),
    ("justification", "fr", "Cela fait partie de notre procédure.", Y),
    ("empathy", "fr", "Je me doute que ce n'est pas pratique du tout.", Y),
    ("empathy", "fr", "Votre déception est tout à fait compréhensible.", Y),
    ("empathy", "fr", "Ce doit être très stressant.", Y),
    ("empathy", "fr", "Vous avez raison, je renvoie le billet.", N),
    ("thank", "fr", "C'est moi qui vous remercie pour votre patience.", Y),
    ("incivility", "fr", "vous foutez rien en fait", Y),
    ("incivility", "fr", "on m'avait dit que c'était inclus. vous mentez", Y),
    ("incivility", "fr", "toujours pas mes manuels. bravo", Y),
    ("incivility", "fr", "votre appli est nulle", N),
    ("deflection", "fr", "Pour nous c'est livré, voyez avec La Poste.", Y),
    ("deflection", "fr", "Pour nous, c'est livré.", Y),
    ("deflection", "fr", "Ouvrez la réclamation auprès du transporteur vous-même.", Y),
    ("deflection", "fr", "Il faut ouvrir une réclamation auprès de La Poste.", Y),
    ("deflection", "fr", "C'est le service facturation, pas nous.", Y),
    ("deflection", "fr", "Ça, c'est le service client de la marketplace, pas nous.", Y),
    # warm handoffs keep ownership: not deflection
    ("deflection", "en",
     "Refunds are handled by the returns team, and I have asked them to prioritise yours; you will get it by Friday.", N),
    ("deflection", "en",
     "I'm bringing in our billing team now and I'll stay on the line with you until it's fixed.", N),
    ("deflection", "en", "I've passed this to our fraud team, who will call you within the hour.", N),
    ("deflection", "en", "Please send us a DM with your order number and we'll look into it.", N),
    ("deflection", "fr",
     "C'est la plateforme de paiement qui a bloqué, je relance le paiement moi-même.", N),
    ("deflection", "fr",
     "Je transmets votre dossier au service technique et je vous rappelle demain avant midi.", N),
    ("deflection", "fr", "C'est le transporteur qui a perdu le colis : je suis le dossier et je vous tiens informé.", N),
    ("deflection", "fr", "Je vous rappelle que vous devez contacter votre banque.", Y),
    ("deflection", "fr", "J'ouvre une enquête auprès du transporteur et je vous tiens informé.", N),
    ("deflection", "en", "If you're still running into trouble after these steps, you can chat with us here: https://example.com/chat", N),
    ("deflection", "en", "Our chat agents can also assist you here: https://example.com/chat", Y),
    ("solve", "fr", "Je vous rappelle que vous devez contacter votre banque.", N),
    ("solve", "fr", "Je vous rappelle demain avant midi.", Y),
    # ---------------------------------------------------------------- solve: next steps, actions in progress
    ("solve", "en", "Please send us a private message with your order number.", Y),
    ("solve", "en", "Send us a DM with your order number and we'll check.", Y),
    ("solve", "en", "We've messaged you privately.", Y),
    ("solve", "en", "We can ring you back today if that suits.", Y),
    ("solve", "en", "Try clearing the app cache and tell us if it works.", Y),
    ("solve", "en", "I'll pass this on and update you tomorrow.", Y),
    ("solve", "fr", "Je vérifie votre dossier.", Y),
    ("solve", "fr", "Je consulte le suivi, patientez un instant.", Y),
    ("solve", "fr", "J'ouvre une enquête auprès du transporteur.", Y),
    ("solve", "fr", "On vous renvoie l'article.", Y),
    ("solve", "fr", "Voici le lien de suivi de votre colis : https://suivi.example.fr/123", Y),
    ("solve", "en", "Here's your tracking link: https://track.example.com/123", Y),
    # ---------------------------------------------------------------- complaint: problems as facts
    # bare chasers carry no tag (REAL_TWITTER_EN.md; every corpus labeller agrees)
    ("complaint", "en", "hello??", N),
    ("complaint", "fr", "allo ??", N),
    ("complaint", "en", "Half my order is missing.", Y),
    ("complaint", "en", "Still no code after two days.", Y),
    ("complaint", "en", "Great, another 'we're looking into it'. #fail", Y),
    ("complaint", "en", "Why am I being charged £12 for something that was advertised as free?", Y),
    ("complaint", "en", "It took you four days to answer a simple question.", Y),
    ("complaint", "fr", "Il manque un flacon dans mon colis.", Y),
    ("complaint", "fr", "Toujours pas de mot de passe.", Y),
    ("complaint", "fr", "Le prix affiché était de 29 € et on m'a débité 39 €.", Y),
    ("complaint", "fr", "Trois jours pour avoir une réponse, bravo.", Y),
    ("complaint", "fr", "Bonjour, je voudrais augmenter le plafond de ma carte pour ce mois-ci.", N),
    ("complaint", "en", "Perfect, thank you!", N),
    ("complaint", "en", "Got it, cheers.", N),
    # ---------------------------------------------------------------- refusal
    ("refusal", "en", "Impossible.", Y),
    ("refusal", "en", "No.", Y),
    ("refusal", "fr", "Impossible.", Y),
    ("refusal", "fr", "Non.", Y),
    ("refusal", "fr", "Nous ne pouvons donner suite à votre demande.", Y),
    ("refusal", "fr", "Nous ne sommes plus en mesure de vous proposer cette offre.", Y),
    ("refusal", "fr", "Je ne puis accéder à votre demande.", Y),
    ("refusal", "en", "That feature isn't available in your region.", Y),
    ("refusal", "en", "There is no option to merge two accounts.", Y),
    ("refusal", "en", "Refunds aren't possible once the order has shipped.", Y),
    ("justification", "en", "Refunds aren't possible once the order has shipped.", Y),
    ("justification", "en", "Unfortunately we can't change the name; tickets are non-transferable.", Y),
    ("justification", "en", "The promotion ended on May 1st, so we can't apply it now.", Y),
    ("justification", "en", "Once your order has shipped you'll get a tracking email.", N),
    ("refusal", "en", "We can't see account details on this channel.", Y),
    ("refusal", "en", "No problem, I've updated it.", N),
    ("refusal", "fr", "Non, rien d'autre, merci.", N),
    # ---------------------------------------------------------------- justification
    ("justification", "fr", "Nous conservons votre carte afin de protéger votre compte.", Y),
    ("justification", "fr", "Le délai est dépassé, de ce fait nous ne pouvons pas la reprendre.", Y),
    ("justification", "fr", "En effet, les articles soldés ne sont ni repris ni échangés.", Y),
    ("justification", "fr", "Étant donné que la commande est partie, elle ne peut plus être annulée.", Y),
    ("justification", "en", "For your security, we can't change the email address over Twitter.", Y),
    ("justification", "en", "We keep the records for five years, as required by law.", Y),
    ("justification", "en", "Our terms only allow returns within 30 days.", Y),
    # ---------------------------------------------------------------- incivility
    ("incivility", "en", "You're all liars.", Y),
    ("incivility", "en", "You treat customers like dirt.", Y),
    # sarcastic jabs and accusations, not genuine praise or a question about a scam
    ("incivility", "en", "Gotta love paying for a service that never works.", Y),
    ("incivility", "en", "Funny how you banks always find new fees.", Y),
    ("incivility", "en", "Thanks a lot for losing my parcel.", Y),
    ("incivility", "en", "You are exploiting the pandemic to charge more.", Y),
    ("incivility", "en", "Lazy delivery driver threw my parcel over the fence.", Y),
    ("incivility", "en", "I love how easy the new app is.", N),
    ("incivility", "en", "Thanks for deleting the duplicate account as I asked.", N),
    ("incivility", "en", "Is this a scam? I got a text saying my account is locked.", N),
    ("incivility", "fr", "Bande de guignols.", Y),
    ("incivility", "fr", "Je vais mettre des avis partout.", Y),
    ("incivility", "en", "I'm going to post this everywhere so everyone knows how you treat people.", Y),
    ("incivility", "en", "The app is useless on my phone.", N),
    ("incivility", "en", "Yes, it's hardware, I ran the stupid diagnostic.", N),
    ("incivility", "fr", "L'appli est inutilisable sur mon téléphone.", N),
]


@pytest.fixture(scope="module")
def matcher() -> SignalMatcher:
    pack = load_policies([PACK], include_default=False)  # the loader: includes resolved, as in an audit
    return SignalMatcher(pack.signals, pack.spellings, pack.negators)


@pytest.mark.parametrize(("signal", "lang", "text", "expected"), CASES, ids=lambda v: str(v)[:50])
def test_plain_case(matcher: SignalMatcher, signal: str, lang: str, text: str, expected: bool) -> None:
    speaker = matcher.signals[signal].speaker
    hits = matcher.match(text, speaker, lang, "transcript")
    if expected:
        assert signal in hits, f"{signal} should be found in {text!r}; found {sorted(hits)}"
    else:
        assert signal not in hits, f"{signal} should not be found in {text!r} (matched {hits.get(signal)})"
