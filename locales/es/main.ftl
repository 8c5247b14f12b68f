channel-news-title = Noticias de Asuntos Exteriores de Guangdong
channel-news-description = Noticias de la Oficina de Asuntos Exteriores de la Provincia de Guangdong: ciudades hermanadas, intercambios y cooperación.
channel-science-tech-title = Cooperación internacional de Guangdong en ciencia y tecnología
channel-science-tech-description = Cooperación con regiones socias en ciencia y tecnología, nuevas energías, biomedicina y robótica.
site-title = Asuntos Exteriores de Guangdong — Feeds
landing-intro = Suscríbase a nuestras noticias en su lector de feeds. Cada canal está disponible en varios idiomas.
landing-feeds-heading = Feeds
landing-other-languages = Otros idiomas
landing-opml = Todos los feeds en OPML
feed-format-rss = RSS 2.0
feed-format-atom = Atom 1.0
feed-format-json = JSON Feed 1.1
article-count = { $count ->
    [one] { $count } artículo
   *[other] { $count } artículos
}
article-other-languages = Leer en otros idiomas
article-published = Publicado el { $date }
article-updated = Actualizado el { $date }
article-fallback = Este artículo aún no está disponible en su idioma. Se muestra en { $language }.
article-machine-translated = Esta traducción se ha hecho de forma automática.
article-correction = Corrección: { $note }
article-retracted = Este artículo ha sido retirado.
article-back = Volver a todos los artículos
topic-friendship-cities = Ciudades hermanadas
topic-science-technology = Ciencia y tecnología
topic-new-energy = Nuevas energías
topic-bio-medicine = Biomedicina
topic-robotics = Robótica
topic-education = Educación
topic-urban-management = Gestión urbana
topic-olympics-2032 = Brisbane 2032
topic-youth-culture = Juventud y cultura
