channel-news-title = Auswärtige Angelegenheiten Guangdong – Nachrichten
channel-news-description = Nachrichten des Büros für auswärtige Angelegenheiten der Provinz Guangdong: Partnerstädte, Austausch und Zusammenarbeit.
channel-science-tech-title = Internationale Zusammenarbeit Guangdongs in Wissenschaft und Technologie
channel-science-tech-description = Zusammenarbeit mit Partnerregionen in Wissenschaft und Technologie, neuen Energien, Biomedizin und Robotik.
site-title = Auswärtige Angelegenheiten Guangdong — Feeds
landing-intro = Abonnieren Sie unsere Nachrichten in Ihrem Feedreader. Jeder Kanal ist in mehreren Sprachen verfügbar.
landing-feeds-heading = Feeds
landing-other-languages = Andere Sprachen
landing-opml = Alle Feeds als OPML
feed-format-rss = RSS 2.0
feed-format-atom = Atom 1.0
feed-format-json = JSON Feed 1.1
article-count = { $count ->
    [one] { $count } Artikel
   *[other] { $count } Artikel
}
article-other-languages = In anderen Sprachen lesen
article-published = Veröffentlicht am { $date }
article-updated = Aktualisiert am { $date }
article-fallback = Dieser Artikel ist noch nicht in Ihrer Sprache verfügbar. Er wird auf { $language } angezeigt.
article-machine-translated = Diese Übersetzung wurde maschinell erstellt.
article-correction = Korrektur: { $note }
article-retracted = Dieser Artikel wurde zurückgezogen.
article-back = Zurück zu allen Artikeln
topic-friendship-cities = Partnerstädte
topic-science-technology = Wissenschaft und Technologie
topic-new-energy = Neue Energien
topic-bio-medicine = Biomedizin
topic-robotics = Robotik
topic-education = Bildung
topic-urban-management = Stadtmanagement
topic-olympics-2032 = Brisbane 2032
topic-youth-culture = Jugend und Kultur
