"""How customers write: support messages composed from independent pieces, in five languages.

A message is a greeting, a problem statement (one of several *families* per intent and
language: the way of saying it), optional details, optional flag phrases (anger, a legal or
chargeback threat, a churn threat, urgency), a closing and a signature — each drawn on its
own, then roughened the way people type: typos, no punctuation, all lower case, ALL CAPS,
SMS shorthand, emoji, e-mail reply chains, "Sent from my iPhone". The family of the problem
statement is recorded in the ground truth, so a model can be tested on families it never
learned from (``family`` = ``intent/language/index``).

The text is written to be varied, not to be easy: a model is judged on real messages nobody
planted. Nothing here is tuned to a detector.

>>> import random
>>> m = compose(random.Random(3), "en", "where_is_my_order", [], {"ref": "order #1234"}, "chat")
>>> m.family.startswith("where_is_my_order/en/")
True
>>> len(m.body) > 10
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass

INTENTS = (
    "where_is_my_order", "damaged_item", "payment_problem", "refund_status", "return_request",
    "cancel_order", "change_address", "product_question", "account_access", "complaint",
    "invoice_request", "feedback",
)
# What an ai lane could answer from the store's own facts (tracking, refund state, an
# invoice, a reset link, a policy): the rest needs a person's decision or judgement.
ANSWERABLE = frozenset({"where_is_my_order", "refund_status", "return_request", "invoice_request",
                        "account_access", "product_question"})
FLAGS = ("angry", "legal_threat", "chargeback_threat", "churn_threat", "urgent", "repeat_contact")
LANGUAGES = ("en", "de", "fr", "es", "pt")

# --------------------------------------------------------------------------- problem statements
# {ref}: the order as the customer names it ("order #1234", "my order"); {days}: a number;
# {item}: a thing they bought. One tuple entry = one phrasing family.

STATEMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "where_is_my_order": (
            "{ref} still hasn't arrived",
            "where is {ref}? tracking hasn't moved in {days} days",
            "I was supposed to get {ref} by now and nothing has turned up",
            "can you tell me when {ref} will actually be delivered",
            "the tracking link just says in transit for ages, what is going on with {ref}",
            "still waiting on {ref}, it's been {days} days",
            "any update on the delivery? {ref} was due a while ago",
            "my parcel never came. {ref}",
        ),
        "damaged_item": (
            "{ref} arrived damaged",
            "the {item} I received is broken, the box was crushed",
            "opened the parcel today and the {item} is cracked",
            "{ref} came in pieces, I have photos",
            "the {item} was damaged in shipping, what do I do now",
            "received {ref} but the {item} is scratched and dented",
        ),
        "payment_problem": (
            "my payment for {ref} keeps getting declined",
            "I tried to pay for {ref} three times and it fails every time",
            "the checkout says payment failed but my bank says the money is gone",
            "why was my card refused? {ref}",
            "payment error on {ref}, card is fine everywhere else",
            "I got an email saying my payment didn't go through",
        ),
        "refund_status": (
            "when will I get my refund for {ref}",
            "I returned {ref} two weeks ago and still no money back",
            "still haven't seen the refund on my card",
            "you said the refund was processed but it's not in my account",
            "where is my money for {ref}",
            "how long does a refund take? I cancelled {ref}",
        ),
        "return_request": (
            "I'd like to return {ref}",
            "how do I send back the {item}? it doesn't fit",
            "can I get a return label for {ref}",
            "the {item} isn't what I expected, I want to return it",
            "want to return part of {ref}, what's the process",
        ),
        "cancel_order": (
            "please cancel {ref}",
            "I ordered by mistake, can you cancel {ref} before it ships",
            "cancel my order please",
            "I need to cancel {ref}, I found it cheaper elsewhere",
            "is it too late to cancel {ref}?",
        ),
        "change_address": (
            "I need to change the delivery address for {ref}",
            "I moved, can you send {ref} to my new address",
            "wrong address on {ref}, the postcode is missing",
            "can the parcel go to my office instead? {ref}",
            "please update the shipping address on {ref}",
        ),
        "product_question": (
            "does the {item} come in other sizes",
            "is the {item} waterproof?",
            "what's the difference between the two {item} models on your site",
            "will the {item} be back in stock soon",
            "can you tell me the dimensions of the {item}",
            "is the {item} compatible with the one I bought last year",
        ),
        "account_access": (
            "I can't log in to my account",
            "forgot my password and the reset email never arrives",
            "my account is locked after too many attempts",
            "how do I change the email address on my account",
            "the password reset link says it has expired",
        ),
        "complaint": (
            "your customer service is terrible, nobody answers",
            "I'm really unhappy with how {ref} was handled",
            "this is the third time something goes wrong with an order",
            "the courier was rude and left the parcel in the rain",
            "very disappointed with the quality of the {item}",
        ),
        "invoice_request": (
            "can I get an invoice for {ref}",
            "I need a VAT invoice for {ref} for my company",
            "please send me the receipt for {ref}",
            "the invoice has the wrong company name on it",
        ),
        "feedback": (
            "just wanted to say thanks, the {item} is great",
            "super fast delivery, very happy",
            "love the {item}! will order again",
            "suggestion: it would be nice to have more colours of the {item}",
        ),
    },
    "de": {
        "where_is_my_order": (
            "{ref} ist immer noch nicht angekommen",
            "wo bleibt {ref}? die Sendungsverfolgung bewegt sich seit {days} Tagen nicht",
            "ich warte seit {days} Tagen auf {ref}",
            "wann wird {ref} endlich geliefert",
            "mein Paket ist nie angekommen, {ref}",
        ),
        "damaged_item": (
            "{ref} ist beschädigt angekommen",
            "der/die {item} war kaputt, der Karton war eingedrückt",
            "beim Auspacken habe ich gesehen dass {item} zerbrochen ist",
        ),
        "payment_problem": (
            "meine Zahlung für {ref} wird immer abgelehnt",
            "die Bezahlung ist fehlgeschlagen aber das Geld wurde abgebucht",
            "warum wurde meine Karte abgelehnt? {ref}",
        ),
        "refund_status": (
            "wann bekomme ich mein Geld für {ref} zurück",
            "ich habe {ref} vor zwei Wochen zurückgeschickt und noch keine Erstattung",
            "die Rückerstattung ist immer noch nicht auf meinem Konto",
        ),
        "return_request": (
            "ich möchte {ref} zurückschicken",
            "wie kann ich {item} retournieren? passt leider nicht",
            "bitte schicken Sie mir ein Retourenlabel für {ref}",
        ),
        "cancel_order": (
            "bitte stornieren Sie {ref}",
            "ich habe aus Versehen bestellt, bitte {ref} stornieren",
            "kann ich {ref} noch stornieren?",
        ),
        "change_address": (
            "ich muss die Lieferadresse für {ref} ändern",
            "bin umgezogen, bitte {ref} an die neue Adresse schicken",
            "bei {ref} fehlt die Postleitzahl in der Adresse",
        ),
        "product_question": (
            "gibt es {item} auch in anderen Größen",
            "ist {item} wasserdicht?",
            "wann ist {item} wieder lieferbar",
        ),
        "account_access": (
            "ich kann mich nicht in mein Konto einloggen",
            "Passwort vergessen und die Mail zum Zurücksetzen kommt nicht an",
            "mein Konto ist gesperrt",
        ),
        "complaint": (
            "Ihr Kundenservice ist eine Katastrophe, niemand antwortet",
            "ich bin sehr unzufrieden damit wie {ref} gelaufen ist",
            "schon wieder geht bei einer Bestellung etwas schief",
        ),
        "invoice_request": (
            "können Sie mir eine Rechnung für {ref} schicken",
            "ich brauche eine Rechnung mit ausgewiesener MwSt für {ref}",
            "auf der Rechnung steht der falsche Firmenname",
        ),
        "feedback": (
            "wollte nur danke sagen, {item} ist super",
            "sehr schnelle Lieferung, top!",
        ),
    },
    "fr": {
        "where_is_my_order": (
            "{ref} n'est toujours pas arrivée",
            "où est {ref} ? le suivi ne bouge plus depuis {days} jours",
            "j'attends {ref} depuis {days} jours",
            "quand est-ce que {ref} sera livrée",
            "mon colis n'est jamais arrivé, {ref}",
        ),
        "damaged_item": (
            "{ref} est arrivée abîmée",
            "le {item} est cassé, le carton était écrasé",
            "en ouvrant le colis j'ai vu que le {item} était fissuré",
        ),
        "payment_problem": (
            "mon paiement pour {ref} est toujours refusé",
            "le paiement a échoué mais j'ai été débité",
            "pourquoi ma carte a été refusée ? {ref}",
        ),
        "refund_status": (
            "quand vais-je être remboursé pour {ref}",
            "j'ai renvoyé {ref} il y a deux semaines et toujours pas de remboursement",
            "le remboursement n'apparaît toujours pas sur mon compte",
        ),
        "return_request": (
            "je voudrais retourner {ref}",
            "comment renvoyer le {item} ? il ne me va pas",
            "pouvez-vous m'envoyer une étiquette de retour pour {ref}",
        ),
        "cancel_order": (
            "merci d'annuler {ref}",
            "j'ai commandé par erreur, pouvez-vous annuler {ref}",
            "est-il encore possible d'annuler {ref} ?",
        ),
        "change_address": (
            "je dois changer l'adresse de livraison de {ref}",
            "j'ai déménagé, pouvez-vous envoyer {ref} à ma nouvelle adresse",
            "il manque le code postal dans l'adresse de {ref}",
        ),
        "product_question": (
            "est-ce que le {item} existe en d'autres tailles",
            "le {item} est-il imperméable ?",
            "quand le {item} sera-t-il de nouveau disponible",
        ),
        "account_access": (
            "je n'arrive pas à me connecter à mon compte",
            "mot de passe oublié et je ne reçois pas le mail de réinitialisation",
            "mon compte est bloqué",
        ),
        "complaint": (
            "votre service client est nul, personne ne répond",
            "je suis très mécontent de la gestion de {ref}",
            "encore un problème avec une commande",
        ),
        "invoice_request": (
            "pouvez-vous m'envoyer la facture de {ref}",
            "j'ai besoin d'une facture avec TVA pour {ref}",
        ),
        "feedback": (
            "merci, le {item} est parfait",
            "livraison très rapide, bravo",
        ),
    },
    "es": {
        "where_is_my_order": (
            "{ref} todavía no ha llegado",
            "¿dónde está {ref}? el seguimiento no se mueve desde hace {days} días",
            "llevo {days} días esperando {ref}",
            "¿cuándo me van a entregar {ref}?",
        ),
        "damaged_item": (
            "{ref} llegó dañado",
            "el {item} vino roto, la caja estaba aplastada",
            "al abrir el paquete vi que el {item} estaba rayado",
        ),
        "payment_problem": (
            "mi pago de {ref} sigue siendo rechazado",
            "el pago falló pero me han cobrado",
            "¿por qué rechazaron mi tarjeta? {ref}",
        ),
        "refund_status": (
            "¿cuándo me devuelven el dinero de {ref}?",
            "devolví {ref} hace dos semanas y aún no tengo el reembolso",
            "el reembolso no aparece en mi cuenta",
        ),
        "return_request": (
            "quiero devolver {ref}",
            "¿cómo devuelvo el {item}? no me queda bien",
            "¿me pueden enviar una etiqueta de devolución para {ref}?",
        ),
        "cancel_order": (
            "por favor cancelen {ref}",
            "pedí por error, ¿pueden cancelar {ref}?",
            "¿todavía puedo cancelar {ref}?",
        ),
        "change_address": (
            "necesito cambiar la dirección de entrega de {ref}",
            "me he mudado, ¿pueden enviar {ref} a mi nueva dirección?",
        ),
        "product_question": (
            "¿el {item} viene en otras tallas?",
            "¿el {item} es impermeable?",
            "¿cuándo vuelve a estar disponible el {item}?",
        ),
        "account_access": (
            "no puedo entrar en mi cuenta",
            "olvidé mi contraseña y no me llega el correo para restablecerla",
        ),
        "complaint": (
            "su atención al cliente es pésima, nadie contesta",
            "estoy muy descontento con cómo han gestionado {ref}",
        ),
        "invoice_request": (
            "¿me pueden enviar la factura de {ref}?",
            "necesito una factura con IVA para {ref}",
        ),
        "feedback": (
            "gracias, el {item} es genial",
            "entrega rapidísima, muy contento",
        ),
    },
    "pt": {
        "where_is_my_order": (
            "{ref} ainda não chegou",
            "onde está {ref}? o rastreamento não atualiza há {days} dias",
            "estou esperando {ref} há {days} dias",
            "quando {ref} vai ser entregue?",
        ),
        "damaged_item": (
            "{ref} chegou danificado",
            "o {item} veio quebrado, a caixa estava amassada",
        ),
        "payment_problem": (
            "meu pagamento de {ref} continua sendo recusado",
            "o pagamento falhou mas o valor foi debitado",
        ),
        "refund_status": (
            "quando vou receber o reembolso de {ref}?",
            "devolvi {ref} há duas semanas e nada do reembolso",
        ),
        "return_request": (
            "quero devolver {ref}",
            "como faço para devolver o {item}? não serviu",
        ),
        "cancel_order": (
            "por favor cancelem {ref}",
            "ainda dá para cancelar {ref}?",
        ),
        "change_address": (
            "preciso mudar o endereço de entrega de {ref}",
            "mudei de casa, podem enviar {ref} para o novo endereço?",
        ),
        "product_question": (
            "o {item} tem outros tamanhos?",
            "o {item} é à prova d'água?",
        ),
        "account_access": (
            "não consigo entrar na minha conta",
            "esqueci a senha e o email de recuperação não chega",
        ),
        "complaint": (
            "o atendimento de vocês é péssimo, ninguém responde",
            "estou muito insatisfeito com {ref}",
        ),
        "invoice_request": (
            "podem me enviar a fatura de {ref}?",
            "preciso da nota fiscal de {ref}",
        ),
        "feedback": (
            "obrigado, o {item} é ótimo",
            "entrega super rápida, adorei",
        ),
    },
}

# --------------------------------------------------------------------------- the other pieces

GENERIC_REF = {"en": ("my order", "the order", "my parcel", "my package"),
               "de": ("meine Bestellung", "die Bestellung", "mein Paket"),
               "fr": ("ma commande", "la commande", "mon colis"),
               "es": ("mi pedido", "el pedido", "mi paquete"),
               "pt": ("meu pedido", "o pedido", "minha encomenda")}
# How an order number is quoted: {n} is the number without leading zeros, {oid} the full id.
REF = {"en": ("order {n}", "order #{n}", "#{n}", "order no. {n}", "order {oid}", "{oid}", "order number {n}"),
       "de": ("Bestellung {n}", "Bestellung Nr. {n}", "#{n}", "Bestellnummer {n}", "{oid}"),
       "fr": ("la commande {n}", "commande n° {n}", "#{n}", "la commande {oid}"),
       "es": ("el pedido {n}", "pedido nº {n}", "#{n}", "el pedido {oid}"),
       "pt": ("o pedido {n}", "pedido nº {n}", "#{n}", "o pedido {oid}")}
ITEMS = {"en": ("jacket", "shoes", "lamp", "backpack", "kettle", "headphones", "dress", "mug set", "chair"),
         "de": ("die Jacke", "die Schuhe", "die Lampe", "der Rucksack", "der Wasserkocher", "die Kopfhörer"),
         "fr": ("blouson", "sac à dos", "lampe", "casque", "fauteuil", "pull"),
         "es": ("abrigo", "bolso", "flexo", "auricular", "jersey", "hervidor"),
         "pt": ("casaco", "tênis", "abajur", "fone", "vestido", "mochila")}
GREETINGS = {"en": ("Hi", "Hello", "Hi there", "Dear customer service", "Hello team", "Good morning", "Hey"),
             "de": ("Hallo", "Guten Tag", "Sehr geehrte Damen und Herren", "Hi", "Moin"),
             "fr": ("Bonjour", "Bonsoir", "Madame, Monsieur", "Salut"),
             "es": ("Hola", "Buenos días", "Buenas tardes", "Estimados"),
             "pt": ("Olá", "Oi", "Bom dia", "Boa tarde", "Prezados")}
CLOSINGS = {"en": ("Thanks", "Thank you", "Thanks in advance", "Kind regards", "Regards", "Cheers",
                   "Looking forward to your reply", "Best"),
            "de": ("Danke", "Vielen Dank", "Mit freundlichen Grüßen", "Viele Grüße", "LG"),
            "fr": ("Merci", "Cordialement", "Merci d'avance", "Bien à vous"),
            "es": ("Gracias", "Un saludo", "Saludos", "Muchas gracias"),
            "pt": ("Obrigado", "Obrigada", "Abraços", "Atenciosamente")}
DETAILS = {
    "en": ("I ordered it on {weekday}.", "It was meant to be a present.", "I paid for express shipping.",
           "I've already checked with my neighbours.", "The tracking number doesn't work.",
           "I need it for a trip next week.", "Please let me know asap.", "I have attached a photo.",
           "This is my first order with you.", "I've been a customer for years."),
    "de": ("Bestellt habe ich am {weekday}.", "Es sollte ein Geschenk sein.", "Ich habe Expressversand bezahlt.",
           "Bei den Nachbarn ist nichts abgegeben worden.", "Foto im Anhang."),
    "fr": ("J'ai commandé {weekday}.", "C'était un cadeau.", "J'ai payé la livraison express.",
           "J'ai déjà demandé aux voisins.", "Photo en pièce jointe."),
    "es": ("Lo pedí el {weekday}.", "Era un regalo.", "Pagué el envío urgente.", "Adjunto una foto."),
    "pt": ("Fiz o pedido na {weekday}.", "Era um presente.", "Paguei frete expresso.", "Segue foto em anexo."),
}
WEEKDAYS = {"en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the weekend"),
            "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag"),
            "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi"),
            "es": ("lunes", "martes", "miércoles", "jueves", "viernes"),
            "pt": ("segunda", "terça", "quarta", "quinta", "sexta")}
FLAG_PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "angry": ("This is ridiculous.", "Absolutely unacceptable!!", "worst service ever", "I am furious.",
                  "Are you kidding me?", "What a joke."),
        "legal_threat": ("I will be contacting my lawyer.", "I'm reporting this to consumer protection.",
                         "If this isn't solved I will take legal action.", "See you in small claims court."),
        "chargeback_threat": ("I'll ask my bank for a chargeback.", "I will dispute the payment with my card company.",
                              "I'm going to file a claim with PayPal."),
        "churn_threat": ("I will never order from you again.", "Please close my account.",
                         "I'm taking my business elsewhere.", "Last time I shop here."),
        "urgent": ("URGENT", "I need this by Friday!", "Please reply today, it's urgent.", "time sensitive"),
        "repeat_contact": ("I already wrote to you about this.", "This is my second message.",
                           "I called yesterday and nobody got back to me.", "Still no answer to my last email."),
    },
    "de": {
        "angry": ("Das ist eine Frechheit!", "Absolut inakzeptabel!!", "Unglaublich.", "Ich bin stinksauer."),
        "legal_threat": ("Ich schalte meinen Anwalt ein.", "Ich wende mich an die Verbraucherzentrale.",
                         "Sonst sehen wir uns vor Gericht."),
        "chargeback_threat": ("Ich lasse die Zahlung von meiner Bank zurückbuchen.", "Ich mache eine Rückbuchung."),
        "churn_threat": ("Ich bestelle nie wieder bei Ihnen.", "Bitte löschen Sie mein Konto."),
        "urgent": ("DRINGEND", "Ich brauche es bis Freitag!", "Bitte heute noch antworten."),
        "repeat_contact": ("Ich habe schon einmal geschrieben.", "Das ist meine zweite Nachricht."),
    },
    "fr": {
        "angry": ("C'est inadmissible !", "Scandaleux.", "Je suis furieux.", "C'est n'importe quoi !!"),
        "legal_threat": ("Je vais contacter mon avocat.", "Je vais saisir les associations de consommateurs.",
                         "J'irai au tribunal s'il le faut."),
        "chargeback_threat": ("Je vais faire opposition auprès de ma banque.", "Je vais contester le paiement."),
        "churn_threat": ("Je ne commanderai plus jamais chez vous.", "Supprimez mon compte."),
        "urgent": ("URGENT", "J'en ai besoin avant vendredi !", "Merci de répondre aujourd'hui."),
        "repeat_contact": ("Je vous ai déjà écrit à ce sujet.", "C'est mon deuxième message."),
    },
    "es": {
        "angry": ("¡Es una vergüenza!", "Inaceptable.", "Estoy harto.", "¡¡Qué desastre!!"),
        "legal_threat": ("Voy a contactar con mi abogado.", "Pondré una reclamación en consumo."),
        "chargeback_threat": ("Voy a pedir a mi banco que anule el cargo.", "Voy a disputar el pago."),
        "churn_threat": ("No vuelvo a comprar aquí.", "Borren mi cuenta."),
        "urgent": ("URGENTE", "¡Lo necesito para el viernes!"),
        "repeat_contact": ("Ya les escribí sobre esto.", "Es mi segundo mensaje."),
    },
    "pt": {
        "angry": ("Isso é um absurdo!", "Inaceitável.", "Estou furioso.", "Que vergonha!!"),
        "legal_threat": ("Vou procurar um advogado.", "Vou registrar reclamação no Procon."),
        "chargeback_threat": ("Vou pedir estorno ao banco.", "Vou contestar a compra no cartão."),
        "churn_threat": ("Nunca mais compro com vocês.", "Quero excluir minha conta."),
        "urgent": ("URGENTE", "Preciso disso até sexta!"),
        "repeat_contact": ("Já escrevi sobre isso.", "É a segunda vez que entro em contato."),
    },
}
SIGNATURES = {"en": ("Sent from my iPhone", "Sent from my Galaxy", "Get Outlook for Android"),
              "de": ("Von meinem iPhone gesendet", "Gesendet von Outlook"),
              "fr": ("Envoyé de mon iPhone",), "es": ("Enviado desde mi iPhone",),
              "pt": ("Enviado do meu iPhone",)}
QUOTE_HEADERS = {"en": "On {weekday}, Customer Service <support@shop.example> wrote:",
                 "de": "Am {weekday} schrieb Kundenservice <support@shop.example>:",
                 "fr": "Le {weekday}, Service client <support@shop.example> a écrit :",
                 "es": "El {weekday}, Atención al cliente <support@shop.example> escribió:",
                 "pt": "Em {weekday}, Atendimento <support@shop.example> escreveu:"}
QUOTED = {"en": ("Thank you for contacting us. We are looking into your request and will get back to you shortly.",
                 "Your ticket has been received. Reference: {ticket}."),
          "de": ("Vielen Dank für Ihre Nachricht. Wir kümmern uns darum.",),
          "fr": ("Merci pour votre message. Nous revenons vers vous rapidement.",),
          "es": ("Gracias por contactarnos. Le responderemos pronto.",),
          "pt": ("Obrigado pelo contato. Retornaremos em breve.",)}
SUBJECTS = {"en": ("Order {ref}", "Question", "Problem with my order", "Help", "{ref}", "Delivery", "Refund",
                   "Complaint", "(no subject)"),
            "de": ("Bestellung {ref}", "Frage", "Problem", "Reklamation"),
            "fr": ("Commande {ref}", "Question", "Problème", "Réclamation"),
            "es": ("Pedido {ref}", "Consulta", "Problema"),
            "pt": ("Pedido {ref}", "Dúvida", "Problema")}
SHORTHAND = (("please", "pls"), ("you", "u"), ("thanks", "thx"), ("your", "ur"), ("are", "r"),
             ("because", "bc"), ("tomorrow", "tmrw"), ("message", "msg"))
EMOJI = ("🙁", "😡", "🙏", "😭", "👍", "😤", "❤️", "🤷")


@dataclass
class Composed:
    """A message as written: ``body``, ``subject`` (e-mail only, else None), ``family``."""

    body: str
    subject: str | None
    family: str


def compose(r: random.Random, lang: str, intent: str, flags: list[str], ctx: dict[str, str],
            channel: str, name: str = "") -> Composed:
    """Write one message about ``intent`` in ``lang``, showing ``flags``, on ``channel``.

    ``ctx``: ``ref`` (the order as the customer names it; a generic "my order" if absent),
    ``n`` (its number, for the subject). Every flag in ``flags`` but ``repeat_contact`` gets a
    phrase that shows it (a repeat may or may not say so: the engine knows from history).
    """
    statements = STATEMENTS[lang][intent]
    k = r.randrange(len(statements))
    fill = {"ref": ctx.get("ref") or r.choice(GENERIC_REF[lang]), "days": str(r.randint(3, 15)),
            "item": r.choice(ITEMS[lang]), "weekday": r.choice(WEEKDAYS[lang])}
    parts: list[str] = []
    short = channel in ("sms", "chat", "social")
    if not short and r.random() < 0.7 or short and r.random() < 0.25:
        parts.append(r.choice(GREETINGS[lang]) + r.choice((",", "", "!", " ,")))
    statement = _sentence(statements[k].format(**fill), r)
    if ctx.get("ref") and "{ref}" not in statements[k]:  # the number goes in anyway, somewhere
        statement = r.choice(("{s} ({ref})", "{s} {ref}", "{ref}: {s}", "{s} - {ref}")).format(s=statement, ref=ctx["ref"])
    parts.append(statement)
    if not short and r.random() < 0.55:
        parts.append(r.choice(DETAILS[lang]).format(**fill))
    phrases = FLAG_PHRASES[lang]
    for flag in flags:
        if flag == "repeat_contact" and r.random() < 0.4:
            continue  # a follow-up that does not say so: history has to tell
        phrase = r.choice(phrases[flag])
        if r.random() < 0.5:
            parts.insert(len(parts) - 1, phrase)  # before the problem statement or a detail
        else:
            parts.append(phrase)
    if not short and r.random() < 0.75 or short and r.random() < 0.2:
        closing = r.choice(CLOSINGS[lang])
        sign = name if r.random() < 0.6 else name.split()[0] if name else ""
        parts.append(closing + ("," if r.random() < 0.5 else "") + ("\n" + sign if sign and r.random() < 0.7 else ""))
    sep = "\n\n" if channel == "email" and r.random() < 0.5 else " " if short or r.random() < 0.5 else "\n"
    body = sep.join(p for p in parts if p)
    body = _roughen(r, body, lang, channel, "angry" in flags)
    if channel == "email":
        if r.random() < 0.12:
            body += "\n\n" + r.choice(SIGNATURES[lang])
        if r.random() < 0.15:  # a reply to the store's earlier answer, quoted below
            quoted = r.choice(QUOTED[lang]).format(ticket=f"T-{r.randint(10000, 99999)}")
            body += "\n\n" + QUOTE_HEADERS[lang].format(weekday=fill["weekday"]) + "\n> " + quoted
    elif channel == "phone":
        body = _transcript(r, body, lang)
    elif channel == "social" and r.random() < 0.6:
        body = r.choice(("@shop ", "@ShopSupport ", "hey @shop ")) + body
    subject = None
    if channel == "email":
        subject = r.choice(SUBJECTS[lang]).format(ref=ctx.get("n") and f"#{ctx['n']}" or "")
        subject = subject.strip() or "(no subject)"
        if body.find("\n> ") >= 0:
            subject = ("Re: " if lang != "de" else r.choice(("Re: ", "AW: "))) + subject
    return Composed(body, subject, f"{intent}/{lang}/{k}")


def _sentence(text: str, r: random.Random) -> str:
    text = text[0].upper() + text[1:]
    if text[-1] not in ".?!":
        text += r.choice((".", ".", "", "?" if "?" in text else "!", "..."))
    return text


def _roughen(r: random.Random, body: str, lang: str, channel: str, angry: bool) -> str:
    """The way people type: each effect on its own draw."""
    u = r.random()
    if angry and u < 0.25 or u < 0.03:
        body = body.upper()
    elif channel in ("sms", "chat", "social") and u < 0.5 or u < 0.12:
        body = body.lower()
    if r.random() < (0.35 if channel in ("sms", "chat") else 0.1):
        body = "".join(ch for ch in body if ch not in ".,;:!?¿¡'")
    if lang == "en" and channel in ("sms", "chat", "social") and r.random() < 0.5:
        for long, short in SHORTHAND:
            body = body.replace(f" {long} ", f" {short} ")
    n_typos = 0 if r.random() < 0.55 else r.randint(1, max(1, len(body) // 60))
    for _ in range(n_typos):
        body = _typo(r, body)
    if r.random() < (0.2 if channel in ("chat", "social", "sms") else 0.05):
        body += " " + r.choice(EMOJI) * r.randint(1, 3)
    if angry and r.random() < 0.4:
        body = body.rstrip(".") + "!" * r.randint(2, 5)
    if r.random() < 0.05:
        body = "  " + body.replace(" ", "  ", r.randint(1, 3)) + " \n"
    return body


def _typo(r: random.Random, text: str) -> str:
    """One slip of the finger: a swapped, dropped, doubled or neighbouring letter."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if len(letters) < 4:
        return text
    i = r.choice(letters[1:-1])
    how = r.randrange(4)
    if how == 0 and i + 1 < len(text):
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if how == 1:
        return text[:i] + text[i + 1:]
    if how == 2:
        return text[:i] + text[i] + text[i:]
    near = {"a": "s", "s": "a", "e": "r", "r": "e", "i": "o", "o": "i", "n": "m", "m": "n", "t": "r", "l": "k"}
    return text[:i] + near.get(text[i], text[i]) + text[i + 1:]


AGENT_LINES = {"en": ("Thank you for calling, how can I help?", "Can I have your order number please?",
                      "Let me check that for you."),
               "de": ("Danke für Ihren Anruf, wie kann ich helfen?", "Haben Sie die Bestellnummer?"),
               "fr": ("Merci de votre appel, que puis-je faire pour vous ?", "Avez-vous le numéro de commande ?"),
               "es": ("Gracias por llamar, ¿en qué puedo ayudarle?", "¿Tiene el número de pedido?"),
               "pt": ("Obrigado por ligar, como posso ajudar?", "Tem o número do pedido?")}


def _transcript(r: random.Random, body: str, lang: str) -> str:
    """A phone call as the speech-to-text of a call centre writes it down."""
    said = body.replace("\n", " ").lower()
    filler = {"en": ("um", "uh", "yeah so"), "de": ("äh", "also"), "fr": ("euh", "bon"),
              "es": ("eh", "pues"), "pt": ("é", "então")}[lang]
    words = said.split(" ")
    for _ in range(r.randint(0, 3)):
        words.insert(r.randrange(len(words) + 1), r.choice(filler))
    agent = AGENT_LINES[lang]
    return f"Agent: {agent[0]}\nCustomer: {' '.join(words)}\nAgent: {r.choice(agent[1:])}"
