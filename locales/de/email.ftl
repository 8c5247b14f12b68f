## E-Mail: Übersicht und Bestätigung des Abonnements (src/email/render.rs).
## Zahlen kommen doppelt: $count ist die rohe Zahl und wählt die Pluralform,
## $number ist dieselbe Zahl, schon für die Sprache formatiert.

email-digest-daily = Tägliche Übersicht
email-digest-weekly = Wöchentliche Übersicht
email-digest-instant = Neu erschienen
email-digest-subject = { $digest }: { $count ->
    [one] ein neuer Artikel
   *[other] { $number } neue Artikel
}
email-digest-intro = { $count ->
    [one] Hier ist ein neuer Artikel (Stand: { $date }).
   *[other] Hier sind { $number } neue Artikel (Stand: { $date }).
}
email-greeting = Guten Tag,
email-greeting-name = Guten Tag { $name },
email-greeting-organisation = Guten Tag, liebes Team von { $organisation },
email-greeting-contact = Guten Tag { $name } ({ $organisation }),
email-item-fallback = Noch nicht übersetzt. Verfügbar auf { $language }.
email-item-corrected = Korrigiert
email-item-translations = Auch auf:
email-footer-why-subscriber = Sie erhalten diese E-Mail, weil Sie Nachrichten von { $site } abonniert und Ihre Adresse bestätigt haben.
email-footer-why-contact = Sie erhalten diese E-Mail als Ansprechperson von { $organisation }, einer unserer Partnerorganisationen.
email-footer-preferences = Sprache, Themen oder Häufigkeit ändern
email-footer-unsubscribe = Abbestellen
email-footer-site = Zu unserer Website
email-confirm-subject = Bitte bestätigen Sie Ihr Abonnement bei { $site }
email-confirm-heading = Nur noch ein Schritt
email-confirm-intro = Jemand – hoffentlich Sie – möchte die Nachrichtenübersicht von { $site } per E-Mail erhalten.
email-confirm-nothing-yet = Bevor Sie bestätigen, schicken wir Ihnen nichts.
email-confirm-button = Abonnement bestätigen
email-confirm-expiry = { $count ->
    [one] Dieser Link ist eine Stunde lang gültig.
   *[other] Dieser Link ist { $number } Stunden lang gültig.
}
email-confirm-ignore = Wenn Sie das nicht angefordert haben, ignorieren Sie diese E-Mail einfach: Sie werden nicht eingetragen und hören nichts mehr von uns.
email-confirm-link-fallback = Falls die Schaltfläche nicht funktioniert, kopieren Sie diese Adresse in Ihren Browser:

# The list name in List-Id and the mail client's list view.
email-list-name = Guangdong Außenbeziehungen – Überblick
