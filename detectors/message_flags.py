"""Triage flags a message's own words raise: rules, in the five languages (en, de, fr, es, pt).

Every flag here is a rule over the message text — no model — so a support lead can read why
it was raised (``evidence.triage.flags``) and a store can trust it from the first message,
before any label. The text is the subject and the body without the quoted reply chain, bounded
(detectors/support_message.py), matched in lower case with accents stripped
(:func:`online_models.text_features.normalise`: ``Rückbuchung`` is matched as ``ruckbuchung``). Each phrase list is a regular
expression of stems, so inflections match (``verklag`` covers verklage/verklagen/verklagt),
accents and case do not matter, and common spellings without umlauts (``rueck``) and
misspellings nobody can avoid (``chargback``, ``urgnet``) are listed where they are cheap.

* ``angry``: insults to the service and exasperation (ridiculous, unacceptable, a joke,
  Frechheit, inadmissible, vergüenza, absurdo, ...), or shouting — three or more words in
  capitals in a row together with ``!!``/``?!`` — or an angry emoji;
* ``legal_threat``: a lawyer, a court, legal action, a consumer-protection body (Verbraucherzentrale,
  DGCCRF, OCU, Procon, ...);
* ``chargeback_threat``: a chargeback, disputing or reversing the payment with the bank or
  card company, a PayPal claim, an ``estorno``/``Rückbuchung``/``opposition``;
* ``churn_threat``: never again, closing or deleting the account, going elsewhere;
* ``urgent``: urgent, asap, immediately, today, needed by a day;
* ``repeat_contact`` (text part): "I already wrote", "second/third time", "still no answer"
  (the history part — another message in the last days — is the detector's).

>>> sorted(flags_in("this is RIDICULOUS, i will call my lawyer and ask my bank for a chargeback"))
['angry', 'chargeback_threat', 'legal_threat']
>>> sorted(flags_in("ich bestelle nie wieder bei ihnen, bitte heute noch antworten"))
['churn_threat', 'urgent']
>>> flags_in("where is my parcel? thanks")
set()
>>> shouting("WHERE IS MY ORDER I PAID TWO WEEKS AGO")
True
"""

from __future__ import annotations

import re

from online_models.text_features import normalise

_PHRASES: dict[str, tuple[str, ...]] = {
    "angry": (
        # en
        r"ridiculous", r"unacceptable", r"disgust", r"outrage", r"furious", r"pathetic", r"appall",
        r"worst (?:service|company|shop|store|experience|customer)", r"(?:what|such) a joke", r"are you (?:kidding|serious)",
        r"fed up", r"sick (?:and tired )?of", r"fuming", r"livid", r"incompetent", r"useless", r"scam", r"rip ?off",
        r"shame on you", r"wtf", r"bullshit", r"terrible service", r"horrible", r"a disgrace",
        # de
        r"frechheit", r"unverschamt", r"inakzeptabel", r"unzumutbar", r"skandal", r"katastroph", r"stinksauer",
        r"wutend", r"verargert", r"lacherlich", r"unglaublich", r"zumutung", r"saustall", r"betrug", r"abzocke",
        r"das letzte", r"armselig", r"schlechteste",
        # fr
        r"inadmissible", r"inacceptable", r"scandal", r"honteu", r"furieu", r"ras le bol", r"j ?en ai marre",
        r"n ?importe quoi", r"lamentable", r"arnaque", r"escroc", r"inoui", r"pitoyable", r"nul(?:le|s)? a chier",
        r"se fout(?:ent)? de", r"c ?est une blague",
        # es
        r"inaceptable", r"verguenza", r"indignant", r"estoy hart[oa]", r"furios[oa]", r"estafa", r"pesim[oa]",
        r"ridicul[oa]", r"que desastre", r"un desastre", r"tomadura de pelo", r"una broma",
        # pt
        r"absurdo", r"inaceitavel", r"que vergonha", r"uma vergonha", r"palhacada", r"revoltad[oa]",
        r"pessim[oa]", r"furios[oa]", r"descaso", r"golpe", r"falta de respeito", r"um lixo",
    ),
    "legal_threat": (
        r"lawyer", r"attorney", r"solicitor", r"\bsue\b", r"\bsuing\b", r"lawsuit", r"legal action", r"legal steps",
        r"small claims", r"\bcourt\b", r"consumer (?:protection|rights|authority|council|agency)", r"trading standards",
        r"ombudsman", r"better business bureau", r"\bbbb\b", r"report (?:you|this) to",
        r"anwalt", r"rechtsanw", r"klage", r"verklag", r"gericht", r"rechtliche schritte", r"juristische schritte",
        r"verbraucherzentrale", r"verbraucherschutz", r"schlichtungsstelle",
        r"avocat", r"tribunal", r"justice", r"poursuite", r"plainte", r"mise en demeure", r"dgccrf",
        r"association(?:s)? de(?:s)? consommateurs", r"60 millions", r"ufc",
        r"abogad[oa]", r"demanda(?:r|re|ndo)?\b", r"denuncia", r"acciones legales", r"via judicial", r"juzgado",
        r"reclamacion (?:en|a) consumo", r"\bocu\b", r"\bomic\b", r"hoja de reclamaciones",
        r"advogad[oa]", r"processar", r"processo judicial", r"acao judicial", r"procon", r"juizado",
        r"reclame aqui", r"justica",
    ),
    "chargeback_threat": (
        r"charge ?ba?ck", r"chargback", r"dispute (?:the |this |my )?(?:payment|charge|transaction)",
        r"(?:call|contact|ask|tell) my (?:bank|card (?:company|issuer))", r"reverse (?:the |my )?(?:payment|charge)",
        r"paypal (?:claim|dispute|case)", r"claim with paypal",
        r"ruckbuch", r"rueckbuch", r"zuruckbuch", r"zurueckbuch", r"zahlung zuruck", r"lastschrift zuruck",
        r"widerspruch bei (?:der|meiner) bank", r"bank (?:einschalten|kontaktieren)",
        r"faire (?:une )?opposition", r"retrofactur", r"contester (?:le|la|mon|ma) (?:paiement|prelevement|transaction|achat)",
        r"rembourser par (?:ma|la) banque", r"(?:auprès de|aupres de) ma banque",
        r"contracargo", r"retrocargo", r"anule el cargo", r"anular el cargo", r"disputar el (?:pago|cargo)",
        r"reclamar (?:al|a mi) banco", r"(?:pedir|decir|hablar con) (?:a )?mi banco",
        r"estorno", r"estornar", r"contestar (?:a|o) (?:compra|cobranca|pagamento)", r"(?:ligar|falar) (?:para|com) o (?:meu )?banco",
        r"operadora do cartao",
    ),
    "churn_threat": (
        r"never (?:again )?(?:order|buy|shop|purchase)", r"never again", r"last time i (?:order|buy|shop)",
        r"(?:close|delete|cancel|remove) my account", r"cancel my (?:subscription|membership)",
        r"(?:take|taking) my (?:business|money) elsewhere", r"shop elsewhere", r"go(?:ing)? to (?:amazon|a competitor)",
        r"won ?t be (?:back|ordering|buying)", r"lost a customer", r"you(?:ve| have) lost me",
        r"nie wieder", r"nie mehr (?:bestell|kauf)", r"(?:zum|das) letzten? mal (?:bestell|gekauft|kauf|dass|das)", r"konto (?:loschen|kundigen)",
        r"(?:losche|loschen) sie mein konto", r"woanders (?:bestellen|kaufen)", r"kunde verloren", r"kundig",
        r"plus jamais", r"derniere fois que (?:je|j)", r"supprime[rz]? (?:mon|le) compte", r"fermer mon compte",
        r"(?:aller|commander|acheter) ailleurs", r"perdu un client", r"desabonn",
        r"nunca mas", r"no vuelvo a", r"ultima vez que (?:compro|pido|les|os)", r"(?:borr|elimin|cerr)(?:ar|en|e) (?:mi|la) cuenta",
        r"darme de baja", r"(?:comprar|comprare) en otr[oa]", r"perdido un cliente",
        r"nunca mais", r"(?:excluir|cancelar|encerrar|apagar) (?:a )?minha conta", r"comprar em outr[oa]",
        r"perderam um cliente", r"nao compro mais",
    ),
    "urgent": (
        r"(?<!envio )(?<!entrega )(?<!shipping )(?<!delivery )(?<!versand )(?<!livraison )urgen", r"urgnet", r"\basap\b", r"emergency", r"immediately", r"right (?:now|away)", r"as soon as possible",
        r"time[ -]sensitive", r"need (?:it|this|them) (?:by|before|today)", r"by tomorrow", r"(?:reply|answer|respond|call me|ship it) today",
        r"dringend", r"sofort", r"eilig", r"so schnell wie moglich", r"heute noch", r"bis morgen", r"brauche (?:es|das|sie) bis",
        r"au plus vite", r"immediatement", r"des que possible", r"tout de suite", r"(?:repondre|reponse|rappeler) aujourd ?hui", r"besoin avant",
        r"en urgence",
        r"lo antes posible", r"inmediatamente", r"cuanto antes", r"hoy mismo", r"lo necesito para", r"para manana",
        r"o quanto antes", r"imediatamente", r"o mais rapido possivel", r"hoje ainda", r"ainda hoje", r"preciso disso ate",
        r"para amanha",
    ),
    "repeat_contact": (
        r"already (?:wrote|written|emailed|contacted|called|asked|sent)", r"(?:second|third|fourth|\d+(?:nd|rd|th)) (?:time|message|email|mail)",
        r"(?:still )?no (?:answer|reply|response) (?:to|from)", r"nobody (?:got|gets|has got) back", r"(?:wrote|called) (?:you )?(?:yesterday|last week|before)",
        r"schon (?:einmal |mehrmals |mehrfach |zweimal )?(?:geschrieben|angerufen|gemeldet|kontaktiert)", r"(?:zweite|dritte)[nrs]? (?:mal|nachricht|mail)",
        r"immer noch keine antwort", r"bereits (?:geschrieben|kontaktiert|angerufen)",
        r"deja (?:ecrit|contacte|appele|envoye)", r"(?:deuxieme|troisieme) (?:fois|message|mail)", r"toujours pas de (?:reponse|nouvelles)",
        r"ya (?:les |os |le )?(?:escribi|llame|contacte|envie)", r"(?:segundo|tercer) (?:mensaje|correo|vez)", r"(?:segunda|tercera) vez",
        r"sigo sin respuesta",
        r"ja (?:escrevi|liguei|entrei em contato|mandei)", r"(?:segunda|terceira) vez", r"(?:segunda|terceira) mensagem",
        r"ainda sem resposta",
    ),
}
FLAG_PATTERNS: dict[str, re.Pattern[str]] = {
    flag: re.compile("|".join(f"(?:{p})" for p in phrases)) for flag, phrases in _PHRASES.items()}
_LETTERS = re.compile(r"[^\W\d_]+")
_EXCLAIM = re.compile(r"[!?]\s*!|!{2,}")
_ANGRY_EMOJI = re.compile("[\U0001F620\U0001F621\U0001F624\U0001F92C\U0001F4A2\U0001F595]")


def shouting(raw: str) -> bool:
    """Three or more words in capitals in a row (``I AM FED UP``): the raw text, before lower-casing."""
    run = 0
    for word in _LETTERS.findall(raw):
        if len(word) >= 2 and word.isupper():
            run += 1
            if run >= 3:
                return True
        elif len(word) >= 2 or not word.isupper():
            run = 0
    return False


def flags_in(raw: str) -> set[str]:
    """The flags raised by ``raw`` (already bounded, reply chain cut): phrases, matched on its
    normalised form (lower case, no accents), and shouting, ``!!`` and angry emoji on itself."""
    text = normalise(raw)
    found = {flag for flag, pattern in FLAG_PATTERNS.items() if pattern.search(text)}
    # Capitals alone are how some people type, and "!!" how others say thanks: only both
    # together, or an angry emoji, count as anger without an angry word.
    if "angry" not in found and (shouting(raw) and _EXCLAIM.search(raw) or _ANGRY_EMOJI.search(raw)):
        found.add("angry")
    return found
