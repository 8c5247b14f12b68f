## 电子邮件：新闻摘要与订阅确认（src/email/render.rs）。
## 数字会传两次：$count 是原始数字，用于选择复数形式；$number 是按本地习惯格式化后的数字。

email-digest-daily = 每日摘要
email-digest-weekly = 每周摘要
email-digest-instant = 新文章速递
email-digest-subject = { $digest }：{ $number } 篇新文章
email-digest-intro = 截至 { $date }，共有 { $number } 篇新文章。
email-greeting = 您好！
email-greeting-name = { $name }，您好！
email-greeting-organisation = { $organisation }的各位朋友，你们好！
email-greeting-contact = { $organisation } { $name }，您好！
email-item-fallback = 暂无您所用语言的版本，现提供{ $language }版本。
email-item-corrected = 已更正
email-item-translations = 其他语言版本：
email-footer-why-subscriber = 您收到这封邮件，是因为您在 { $site } 订阅了新闻摘要并确认了邮箱地址。
email-footer-why-contact = 您收到这封邮件，是因为您是我们的合作机构{ $organisation }的联系人。
email-footer-preferences = 更改语言、主题或接收频率
email-footer-unsubscribe = 退订
email-footer-site = 访问我们的网站
email-confirm-subject = 请确认您对 { $site } 的订阅
email-confirm-heading = 还差一步
email-confirm-intro = 有人（希望是您本人）申请通过电子邮件接收 { $site } 的新闻摘要。
email-confirm-nothing-yet = 在您确认之前，我们不会向您发送任何邮件。
email-confirm-button = 确认订阅
email-confirm-expiry = 此链接将在 { $number } 小时后失效。
email-confirm-ignore = 如果这不是您本人的操作，请忽略此邮件：您不会被订阅，也不会再收到我们的邮件。
email-confirm-link-fallback = 如果按钮无法使用，请将以下地址复制到浏览器中打开：

# The list name in List-Id and the mail client's list view.
email-list-name = 广东外事新闻摘要
