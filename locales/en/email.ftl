## Email: the digest and the subscription confirmation (src/email/render.rs).
## Numbers come twice: $count is the raw number and selects the plural form,
## $number is the same number already formatted for the locale.

email-digest-daily = Daily digest
email-digest-weekly = Weekly digest
email-digest-instant = Just published
email-digest-subject = { $digest }: { $count ->
    [one] one new article
   *[other] { $number } new articles
}
email-digest-intro = { $count ->
    [one] Here is one new article (as of { $date }).
   *[other] Here are { $number } new articles (as of { $date }).
}
email-greeting = Hello,
email-greeting-name = Dear { $name },
email-greeting-organisation = Dear friends at { $organisation },
email-greeting-contact = Dear { $name } ({ $organisation }),
email-item-fallback = Not translated yet. Available in { $language }.
email-item-corrected = Corrected
email-item-translations = Also in:
email-footer-why-subscriber = You are receiving this email because you subscribed to news from { $site } and confirmed your address.
email-footer-why-contact = You are receiving this email because you are the contact for { $organisation }, one of our partner organisations.
email-footer-preferences = Change language, topics or frequency
email-footer-unsubscribe = Unsubscribe
email-footer-site = Visit our website
email-confirm-subject = Please confirm your subscription to { $site }
email-confirm-heading = One more step
email-confirm-intro = Someone, hopefully you, asked to receive news digests from { $site } by email.
email-confirm-nothing-yet = We will not send you anything until you confirm your address.
email-confirm-button = Confirm my subscription
email-confirm-expiry = { $count ->
    [one] This link expires in one hour.
   *[other] This link expires in { $number } hours.
}
email-confirm-ignore = If you did not ask for this, simply ignore this email: you will not be subscribed and will not hear from us again.
email-confirm-link-fallback = If the button does not work, copy this address into your browser:

# The list name in List-Id and the mail client's list view.
email-list-name = Guangdong Foreign Affairs digest
