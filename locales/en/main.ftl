channel-news-title = Guangdong Foreign Affairs News
channel-news-description = News from the Foreign Affairs Office of Guangdong Province: friendship cities, exchanges and cooperation.
channel-science-tech-title = Guangdong International Science and Technology Cooperation
channel-science-tech-description = Cooperation with partner regions in science and technology, new energy, bio-medicine and robotics.
site-title = Guangdong Foreign Affairs — Feeds
landing-intro = Subscribe to our news in your feed reader. Every channel is available in several languages.
landing-feeds-heading = Feeds
landing-other-languages = Other languages
landing-opml = All feeds as OPML
feed-format-rss = RSS 2.0
feed-format-atom = Atom 1.0
feed-format-json = JSON Feed 1.1
article-count = { $count ->
    [one] { $count } article
   *[other] { $count } articles
}
article-other-languages = Read in other languages
article-published = Published { $date }
article-updated = Updated { $date }
article-fallback = This article is not available in your language yet. It is shown in { $language }.
article-machine-translated = This translation was made by machine.
article-correction = Correction: { $note }
article-retracted = This article has been retracted.
article-back = Back to all articles
topic-friendship-cities = Friendship cities
topic-science-technology = Science and technology
topic-new-energy = New energy
topic-bio-medicine = Bio-medicine
topic-robotics = Robotics
topic-education = Education
topic-urban-management = Urban management
topic-olympics-2032 = Brisbane 2032
topic-youth-culture = Youth and culture
