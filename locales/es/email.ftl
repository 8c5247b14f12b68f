## Correo: el resumen y la confirmación de la suscripción (src/email/render.rs).
## Los números llegan dos veces: $count es el número tal cual y elige la forma del plural;
## $number es el mismo número ya formateado para el idioma.

email-digest-daily = Resumen diario
email-digest-weekly = Resumen semanal
email-digest-instant = Recién publicado
email-digest-subject = { $digest }: { $count ->
    [one] un artículo nuevo
   *[other] { $number } artículos nuevos
}
email-digest-intro = { $count ->
    [one] Este es el artículo nuevo (a fecha de { $date }).
   *[other] Estos son los { $number } artículos nuevos (a fecha de { $date }).
}
email-greeting = Hola:
email-greeting-name = Hola, { $name }:
email-greeting-organisation = Estimados amigos de { $organisation }:
email-greeting-contact = Hola, { $name } ({ $organisation }):
email-item-fallback = Aún sin traducir. Disponible en { $language }.
email-item-corrected = Corregido
email-item-translations = También en:
email-footer-why-subscriber = Recibe este correo porque se suscribió a las noticias de { $site } y confirmó su dirección.
email-footer-why-contact = Recibe este correo porque es la persona de contacto de { $organisation }, una de nuestras organizaciones asociadas.
email-footer-preferences = Cambiar idioma, temas o frecuencia
email-footer-unsubscribe = Darse de baja
email-footer-site = Visitar nuestro sitio web
email-confirm-subject = Confirme su suscripción a { $site }
email-confirm-heading = Solo falta un paso
email-confirm-intro = Alguien, esperamos que usted, ha pedido recibir por correo electrónico los resúmenes de noticias de { $site }.
email-confirm-nothing-yet = No le enviaremos nada hasta que confirme su dirección.
email-confirm-button = Confirmar mi suscripción
email-confirm-expiry = { $count ->
    [one] Este enlace caduca en una hora.
   *[other] Este enlace caduca en { $number } horas.
}
email-confirm-ignore = Si no lo ha pedido usted, ignore este correo sin más: no quedará suscrito y no volverá a saber de nosotros.
email-confirm-link-fallback = Si el botón no funciona, copie esta dirección en su navegador:

# The list name in List-Id and the mail client's list view.
email-list-name = Resumen de Asuntos Exteriores de Guangdong
